package locallearn.data;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Archives written by GNU tar 1.35 ("tar --format=gnu -czf" and "tar --format=pax -czf") of a
 * CIFAR-10 folder one level below a 120-character directory name, so the paths need a GNU long-name
 * entry or a pax extended header. Batch k holds one record, label k-1, pixel j = (j*k) % 256; the test
 * batch one record, label 7, pixel j = j % 256; a readme.html beside them must be skipped.
 */
class GnuTarArchivesTest {
    @TempDir Path tmp;

    static final String GNU_LONG_NAMES = """
H4sIAAAAAAAAA+2dfTRUaxSHx0eRJEmSpEmSxJgzn5IkSdIkSZKEYXx/NoYkSZIkSZIkSZIkSZIkSZIkSZIkSZIkSZIk6cpd6651
b9P1V8fU2c8/M+uw157n7PW+M+d3rEFQI6hpMzzcHRhO7i64XwNxEBqFMvQ4yH8fiQid9M/zoeMIQiOScXjGL3o9/8Lbi8Nk4/E4
tocH5/9+b7if/6awRgi1kRYHhkBj1t8XNZ1K/en6//4coZKJJIRGJyODewGZjNApODwVjROA8fVP4IH9n4TQYf8fIdBY/9xQs3Wy
Z7JVEaKqDZNj62jnpWrj5A5vCqiDxqxh/+ddeGL/J3PZ/6mw/6MBGuufG9z3fxaTw7QaOmBFIQweGOmz8+eDxqyHWf80IhH5cf8f
/PxHROMEYHz9C+AEhUXFJaVl8QpKKkSKuqa2rj7DyMTMwprl6OrJ8fUPDA4Nj4yOjU9MTk3PzM7NLywuLa+srq1vbG5t7+zu7Yd6
qId6qId6qId6qId6qIf636gewDKQ/2H7+h+N/Icbw+Z/VMj/0ACNWUP+x7sI4kaJjJecIjdTSZVE11ykt9xojbkVy8ndy3dr0K7w
/TFHEk+mncu+XHCj9G7Vo/rnLW86P/Z9ExwjNlF6mvxsFYQ2X3uJwUqTdZa2jm7sTf7bQ/ZEHow7lnw640Lu1aJb5fdrnjS+bHvX
/XlAQHicxGTZGYpziVSNhbrLDFebbbBxcN3osyVwZ9i+6MMJJ1LPZl3Kv15yp/Jh3bPm1x0fer/yC4lOkJqKn6WsRpmntVh/hfFa
C6a9i6e337bg3REHYo8mnUo/n3Ol8GbZverHDS9a33Z96ucbPVZ8ksx0hTkEsvoCnaWMVabrre2cPTibA3aE7o06FH885Uzmxbxr
xbcrHtQ+bXrV/r7nC/iDP/iDP/iDP/iDP/iDP6b8ASwD+R+2r//RyH+4MWz+R4L8Dw3QmDXkf7wLH45fcLSwiKiYuISklLSMrBxe
XkFRSVmFQCRRaOoamlraOrp6+gYMQyNjE1MzcwtLaxuWvaOzq7snm+Pj6+cfEBgUHBIaFh4RGRUdExsXn5CYlJySmpaekZmVnZOb
l19QWFRcUlpWXlFZVV1TW1ff0NjU3NLa1t7R2dXd09vXPwD9oT/0h/7QH/pDf+gP/aE/9EexP4BlIP/D9vU/GvkPN4bN/xDI/9AA
jVlD/sfL8PELCI4aLSQ8RmSs6Dix8eITJCZKTpKaLD1FZqrsNLnp+BnyMxVmKc5WmqM8V0WVoEZESGQKlUZXn6cxX3OB1kLtRTqL
dZfoLdVfZrCcscJwpdEq49Uma0zXmq0zX2+xwdLKmmljy7Kzd3B0cnZxdXP38NzI9uJ4+2zy3ey3xX9rwLbA7UE7gneG7ArdHbYn
fG/Evsj9UQeiD8Ycij0cdyT+aMKxxONJJ5JPppxKPZ12Jv1sxrnM81kXsi/mXMq9nHcl/2rBtcLrRTeKb5bcKr1ddqf8bsW9yvtV
D6of1jyqfVz3pP5pw7PG500vml+2vGp93fam/W3Hu873XR+6P/Z86v3c96X/68A38Ad/8Ad/8Ad/8Ad/8Ad/TPkDWIY38j8u3/9N
hPwPDdDIf7jBPf9j2zFZbnYER46b60ifGIyAxqyHWf8InfrD97+SiAjkf2jgCwDAH8/P1j9vfP6D+78jBRrv/9wY9v4vGe7/ogEa
s4b7v7wLP05g9BjR8RKTpKfKzVCYraxKJNPmaS7UWaK/3HCVyVrzDda29k6uHmxv3y0B24N3he2NPBBzOP5Y0snUMxnnsy/lXS28
UXK7/F7Vw9onDc+bX7W97fzQ87n/G/8o4bFiEyQny0zDz1Sco6JGoqrP11qku9RghdFq03UWVjZ2ji7uGzmb/LYG7gjZHb4v6mDs
kYTjyafSzmZeyLmcf63oZumdivvVj+qeNr5oed3+rutj75cBPkEhkXHiE6WmyE6Xn6U0l4BQ6BoLtBfrLWOsNF5jtt6SyXJwdvP0
8tnsvy1oZ+ieiP3Rh+KOJp5IOZ1+Luti7pWC68W3yu5WPqh5XP+s6WXrm4733Z/6voI/+IM/+IM/+IM/+IM/+GPKH8AyvJH/UX/M
/+D/f6ICGvkPN7jnfxw7L87f+R+kf+iAxqwh/+NdhDD/92/gD/7gD/7gD/7gD/7gD/5Y8gcAAAAAAAAAAAAAAAAA4E/lL7ElI5sA
oAAA
            """;

    static final String PAX_HEADERS = """
H4sIAAAAAAAAA+2df1QMexTAV6IkCUlIFiHpx8zOzP6gCEkSkhBSbe2m0i/blpCEkCRJkoQkhJCEJAkhSZIkhBBCCCEkr8h750l1
Tu+YGW/v54/advae22du3zs7d3cnHV0zvo+xkC8Qijx1Bb8HpBY2jjOQ7/z8HcEwgoESGMJC2RwMZTGQ2i8cnMH0YZCAl6eYL6r9
VcjIRUNQDGV68MWO+r+p9s2iK4chTFexk6tQH+XwCA7Oqf1L0MFRNovHQ9lo3VZ+g60c1j9b7RuPpXrn/gGQUeK6Nc4hiEbXf93t
f69/HK9b/wQZO+DH+he5u4ubelxz23+W+0Mgq/5N9n826+f+T2Ac6P9kgBIsivu/vZMDX6SNItp2fLG9o9BT287JrZGDAgvFcB4X
4bXkoPB3LNV7nF6QUWLo//SFrPo31f9x5Bf9nwX9nwxQNpeO/V/AF/Ntvt1hg+vU3tHY8QAlam+yW3Y8qI+lugLUQkaJm1n/bARB
G/Z/jMEkZU1KeP9vzZCWlVdUUlFlqmtoIThXz8DQ2NTMwtLKVuDo4iH28fUPCAwODY+MjomLT0hMTknLyMzKySsoKi4pLSuvqKyq
hniIh3iIh3iIh3iIh3iIh/g/KB6QZGhw/g/zPwqh//yPaGr+x2JhPDa3ZfO/+liqK0AtZJQY5n/0RZrRRq6jUne1fhraLI7eCKNx
ZlNm2Aic3Dx9Fi1dGbwuYnPMzr0Hk4+nn826nH+j+P7j5xXvPn2VbqfQRaVX34FaKHuowWiTiRbTre0dXUXzfJesWB26IWpb3J4D
h1NOnrmQc7XwdsmjZ68qP9a0lu3QuZtqnwGDEWLIcMOxEyZbzrKb7TLXe6H/8qC14Zu27ojfn3Qs7fT5S3nXb90rffrybdUXKRn5
Tso9mf01dXHesFHG482nWfEd5nh4LVgcsCpkfeSW2N0Jh46eyDiXfaXg5t2HZS/efKhu1ba9YtcevdUH6WBc/ZFjTCdNnWkrdHYX
z/dbFrgmbGP09l37Eo+knsq8mHut6M6DJ+Wv338Gf/AHf/AHf/AHf/AHf/CXKH9AkqHB+T/M/yiE/vM/VlPzPwTFuEgL3/9XH0t1
BaiFjBLD/I++tGJISbeVlZNXUOyspKzSQ1WN2Vd9gIamlg7CwtncIXrDDEYaGhmbmE4wM7eYajnDytrWTuDg6Ozi5iESe/ss8PXz
XxqwIjAoOCQ0LDwiMip6a0xs3K74vQkHEpOSj6akpqVnnMk8n5Wdk5uXX1BYdKv4bsmD0sdlz8pfVrypfF/1qboG8kN+yA/5IT/k
h/yQH/JDfshPYn5AkqHB+T/M/yiE/vM/tIn5H8LlcAhuy+Z/P2KprgC1kFFimP/RmVZSraXbtJWRbSfXXr6DQkfFTp27KHVV7qbS
vUdP1V5qvZl9+vZT7z9goMYgzcFa2jq6CMrCcILN4fKGDNXTHzbcYMTIUYajjcYYjzUZZzp+wkSzSeaTLaZMnWY5fcZMq1nWNrZ8
O3uB0GG2o5PzHBdXN3ePuSJPsZf3PJ/5Cxb6LvJb7L9k6bKA5StWBq4KWh28JmRt6Lqw9eEbIjZGboraHL1l67aY7bE74nbu2h2/
Z+++hP0HDiYeSjqcfOTosZTjqSfSTqafyjh95mzmufMXsi5mX8q5nHsl72r+tYLrhTeKbt66XXzn7r2S+w8elj56/KTs6bPn5S9e
vqp4/eZt5bv3H6o+fvpc/aXmK/iDP/iDP/iDP/iDP/iDv0T5A5IMDc7/EYzT4PrfBI7B/I8MUDZGx/mfSMgXuAp1HMWuLo299Q9H
OSjSwo/+1sdSvfNpABklbmb9oxyiwfVfCQSF+R8Z+AAA8L+nsfVPg/6P4A2u/133Ezz/IwP6v/6LfXv9l8X79ec/uFyiueeAtaG/
/PjHt1Cq9z/VkFFieP2XvkgxWrdtJ9+xc1eVnmp91AdqaiMYm6c3fORo43ETJllMmzHL1t7BycVd5OWz0G9JwMqgNaHrIzZFb4vd
Gb/vwKHkY6knM86ev5hzJf960e2790ufPHtR8fb9x+qvUm1k2yt0UurWoxez34BBWrosgjt02AjDMSbjzSZPnW5lYyd0nOM2Vzxv
wSL/ZStWBa8N2xC5eev2uN179ycePno87dSZc1mXcq8W3Lh1p+Th46flr968q/pc00paRq6DYhfl7qq9+/bXGKyD4pwh+gajjMaa
TjSfYjnTmi+Y7ezq4ek933fx0uWBq0PWhW+M2hKzY9eehINJR1JOpJ/OvJB9Oe9a4c3iew8elT1/+bryw6cv4A/+4A/+4A/+4A/+
4A/+EuUPSDI0OP+H+R+FoGw2Hed/YqGn+Pv8r6mrv8B/A/3PkFFimP/RFxmJf/8b+IM/+IM/+IM/+IM/+IO/JPkDAAAAAAAAAAAA
AAAAAPB/5S+1r4UfAKAAAA==
            """;

    void check(String base64, String name) throws IOException {
        Path archive = tmp.resolve(name);
        Files.write(archive, Base64.getMimeDecoder().decode(base64));
        Datasets.Split s = Datasets.load("cifar10", archive, Datasets.LoadOptions.defaults(), new Datasets.Places(null, null, null));
        assertArrayEquals(new int[] {0, 1, 2, 3, 4}, s.train().labels());
        assertArrayEquals(new int[] {7}, s.test().labels());
        assertEquals((1000 * 3) % 256 / 255f, s.train().images()[2 * 3072 + 1000]);  // batch 3, pixel 1000
        assertEquals(300 % 256 / 255f, s.test().images()[300]);
        assertEquals(archive.toString(), s.source());
    }

    @Test void readsGnuLongNames() throws IOException { check(GNU_LONG_NAMES, "longgnu.tar.gz"); }

    @Test void readsPaxPaths() throws IOException { check(PAX_HEADERS, "longpax.tar.gz"); }
}

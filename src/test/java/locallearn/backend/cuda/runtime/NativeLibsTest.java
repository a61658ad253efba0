package locallearn.backend.cuda.runtime;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import locallearn.backend.cuda.NativeLibs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Library discovery on fake trees: file names like libcublas.so.12 in folders the test lays out. */
class NativeLibsTest {
    @TempDir Path tmp;

    private Path touch(String rel) throws IOException {
        Path f = tmp.resolve(rel);
        Files.createDirectories(f.getParent());
        Files.writeString(f, "not really a library");
        return f;
    }

    private List<Path> dirs(Map<String, String> env) {
        return NativeLibs.searchDirs(env, tmp.resolve("root"), tmp.resolve("home"));
    }

    @Test void picksHighestMajorFoundAnywhereOverSearchOrder() throws IOException {
        touch("ld/libcublas.so.11");                                                             // first folder searched
        touch("root/usr/local/cuda-12.6/lib64/libcublas.so.12");
        Path want = touch("root/usr/local/lib/python3.12/site-packages/nvidia/cu13/lib/libcublas.so.13"); // a late folder
        List<Path> dirs = dirs(Map.of("LD_LIBRARY_PATH", tmp.resolve("ld").toString()));
        NativeLibs.Search s = NativeLibs.find("libcublas", List.of(13, 12, 11), dirs);
        assertEquals(want, s.found().path());
        assertEquals(13, s.found().major());
    }

    @Test void earlierFolderWinsAmongEqualVersions() throws IOException {
        Path ld = touch("ld/libcudnn.so.9");
        touch("cuda/lib64/libcudnn.so.9");
        List<Path> dirs = dirs(Map.of("LD_LIBRARY_PATH", tmp.resolve("ld").toString(), "CUDA_HOME", tmp.resolve("cuda").toString()));
        assertEquals(ld, NativeLibs.find("libcudnn", List.of(9, 8), dirs).found().path());
    }

    @Test void searchOrderIsLdPathCudaHomeCudaInstallsWheelsThenSystem() throws IOException {
        for (String d : List.of("ld", "cuda/lib64", "cuda/targets/x86_64-linux/lib", "root/usr/local/cuda/lib64",
                "root/usr/local/cuda-13.0/lib64", "root/usr/local/cuda-12.6/lib64", "venv/lib/python3.12/site-packages/nvidia/cudnn/lib",
                "root/opt/torch/.venv/lib/python3.12/site-packages/nvidia/cublas/lib",
                "home/.local/lib/python3.10/site-packages/nvidia/cudnn/lib", "root/usr/lib/x86_64-linux-gnu"))
            Files.createDirectories(tmp.resolve(d));
        List<Path> dirs = dirs(Map.of("LD_LIBRARY_PATH", tmp.resolve("ld") + "::" + tmp.resolve("nope"),
                "CUDA_HOME", tmp.resolve("cuda").toString(), "VIRTUAL_ENV", tmp.resolve("venv").toString()));
        List<String> rel = dirs.stream().map(p -> tmp.relativize(p).toString()).toList();
        assertEquals(List.of("ld", "cuda/lib64", "cuda/targets/x86_64-linux/lib", "root/usr/local/cuda/lib64",
                "root/usr/local/cuda-13.0/lib64", "root/usr/local/cuda-12.6/lib64", "venv/lib/python3.12/site-packages/nvidia/cudnn/lib",
                "root/opt/torch/.venv/lib/python3.12/site-packages/nvidia/cublas/lib",
                "home/.local/lib/python3.10/site-packages/nvidia/cudnn/lib", "root/usr/lib/x86_64-linux-gnu"), rel);
    }

    @Test void pythonOnPathLeadsToItsPrefixsWheels() throws IOException {
        touch("env/bin/python3");
        Path lib = touch("env/lib/python3.12/site-packages/nvidia/cudnn/lib/libcudnn.so.9");
        List<Path> dirs = dirs(Map.of("PATH", tmp.resolve("env/bin").toString()));
        assertEquals(lib, NativeLibs.find("libcudnn", List.of(9, 8), dirs).found().path());
    }

    @Test void linksAndDuplicatesAreListedOnce() throws IOException {
        Files.createDirectories(tmp.resolve("ld"));
        List<Path> dirs = dirs(Map.of("LD_LIBRARY_PATH", tmp.resolve("ld") + ":" + tmp.resolve("ld/../ld")));
        assertEquals(List.of(tmp.resolve("ld")), dirs);
    }

    @Test void reportsWhatItTriedWhenNothingIsFound() throws IOException {
        touch("ld/libcublas.so.10");     // too old: not a candidate
        touch("ld/libcublasLt.so.12");   // another library
        List<Path> dirs = dirs(Map.of("LD_LIBRARY_PATH", tmp.resolve("ld").toString()));
        NativeLibs.Search s = NativeLibs.find("libcublas", List.of(13, 12, 11), dirs);
        assertNull(s.found());
        assertEquals("libcublas.so.{13,12,11} not found in 1 folders: " + tmp.resolve("ld")
                + " (set LD_LIBRARY_PATH or CUDA_HOME to the folder that holds it)", s.missing());
    }

    @Test void saysSoWhenNoFolderExists() {
        NativeLibs.Search s = NativeLibs.find("libcudnn", List.of(9, 8), dirs(Map.of()));
        assertNull(s.found());
        assertTrue(s.dirs().isEmpty());
        assertEquals("libcudnn.so.{9,8} not found: none of the searched folders exists (set LD_LIBRARY_PATH or CUDA_HOME)", s.missing());
    }

    @Test void longFolderListsAreShortened() throws IOException {
        StringBuilder ld = new StringBuilder();
        for (int i = 0; i < 9; i++) {
            Files.createDirectories(tmp.resolve("d" + i));
            ld.append(i == 0 ? "" : ":").append(tmp.resolve("d" + i));
        }
        String m = NativeLibs.find("libcudnn", List.of(9), dirs(Map.of("LD_LIBRARY_PATH", ld.toString()))).missing();
        assertTrue(m.startsWith("libcudnn.so.{9} not found in 9 folders: " + tmp.resolve("d0") + ", "), m);
        assertTrue(m.contains(tmp.resolve("d5").toString()) && !m.contains(tmp.resolve("d6").toString()), m);
        assertTrue(m.contains(" and 3 more"), m);
    }

    @Test void naturalOrderComparesNumbersAsNumbers() {
        assertTrue(NativeLibs.naturalCompare("python3.9", "python3.12") < 0);
        assertTrue(NativeLibs.naturalCompare("cuda-12.6", "cuda-13.0") < 0);
        assertTrue(NativeLibs.naturalCompare("cuda-13.0", "cuda-13.0") == 0);
        assertTrue(NativeLibs.naturalCompare("cuda", "cuda-12") < 0);
    }
}

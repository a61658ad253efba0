package locallearn.backend.cuda;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Finds cuBLAS and cuDNN shared libraries without a loader path set up for them: CUDA installs
 * and Python's nvidia-* wheels (PyTorch brings both) put them in many places. The search is
 * explicit, so {@code info} can say what was tried when nothing is found.
 *
 * <p>Folders, in order: LD_LIBRARY_PATH; CUDA_HOME and CUDA_PATH (lib64, targets/x86_64-linux/lib);
 * /usr/local/cuda and /usr/local/cuda-*; the nvidia wheels' {@code site-packages/nvidia/&#42;/lib}
 * of the active virtualenv or conda prefix, of every python3 on PATH, and of the usual Python
 * prefixes (/usr/local/lib, /usr/lib, /opt/conda, /opt/&#42;/.venv, ~/.local, /root/.local); then
 * the distribution's library folders. Public for {@code info} and the tests; the rest of the
 * engine reaches the libraries through {@link CudaContext#cublas()} and {@link CudaContext#cudnn()}. The highest major version found anywhere wins; among
 * folders holding it, the first in that order.
 */
@SuppressWarnings("restricted") // native access is this class's job
public final class NativeLibs {
    private NativeLibs() {}

    /** A library file found, and its major version (the number after ".so."). */
    public record Found(Path path, int major) {}

    /** The outcome of one search: {@code found} or null, and the folders looked in. */
    public record Search(String base, List<Integer> majors, Found found, List<Path> dirs) {
        public String missing() {
            StringBuilder names = new StringBuilder(base + ".so.{");
            for (int i = 0; i < majors.size(); i++) names.append(i == 0 ? "" : ",").append(majors.get(i));
            names.append('}');
            if (dirs.isEmpty()) return names + " not found: none of the searched folders exists (set LD_LIBRARY_PATH or CUDA_HOME)";
            StringBuilder b = new StringBuilder(names).append(" not found in ").append(dirs.size()).append(" folders: ");
            int shown = Math.min(dirs.size(), 6);
            for (int i = 0; i < shown; i++) b.append(i == 0 ? "" : ", ").append(dirs.get(i));
            if (dirs.size() > shown) b.append(" and ").append(dirs.size() - shown).append(" more");
            return b.append(" (set LD_LIBRARY_PATH or CUDA_HOME to the folder that holds it)").toString();
        }
    }

    /** The folders of this process's environment, searched from the file system root. */
    public static List<Path> searchDirs() {
        return searchDirs(System.getenv(), Path.of("/"), Path.of(System.getProperty("user.home", "/root")));
    }

    /**
     * The existing folders to search, in order, without duplicates. {@code root} stands for "/"
     * and {@code home} for the user's home, so tests can lay out a fake tree.
     */
    public static List<Path> searchDirs(Map<String, String> env, Path root, Path home) {
        List<Path> c = new ArrayList<>();
        for (String d : split(env.get("LD_LIBRARY_PATH"))) c.add(Path.of(d));
        for (String var : List.of("CUDA_HOME", "CUDA_PATH")) {
            String h = env.get(var);
            if (h != null && !h.isBlank()) {
                c.add(Path.of(h, "lib64"));
                c.add(Path.of(h, "targets/x86_64-linux/lib"));
            }
        }
        c.addAll(glob(root, "usr/local/cuda/lib64", "usr/local/cuda/targets/x86_64-linux/lib",
                "usr/local/cuda-*/lib64", "usr/local/cuda-*/targets/x86_64-linux/lib"));
        String wheels = "lib/python3*/site-packages/nvidia/*/lib";
        for (String var : List.of("VIRTUAL_ENV", "CONDA_PREFIX")) {
            String p = env.get(var);
            if (p != null && !p.isBlank()) {
                c.addAll(glob(Path.of(p), wheels));
                if (var.equals("CONDA_PREFIX")) c.add(Path.of(p, "lib"));
            }
        }
        // a python3 on PATH at PREFIX/bin keeps its packages under PREFIX/lib (virtualenvs included)
        for (String d : split(env.get("PATH"))) {
            Path bin = Path.of(d);
            if (Files.exists(bin.resolve("python3")) && bin.getParent() != null) c.addAll(glob(bin.getParent(), wheels));
        }
        c.addAll(glob(root, "usr/local/" + wheels, "usr/local/lib/python3*/dist-packages/nvidia/*/lib",
                "usr/" + wheels, "usr/lib/python3*/dist-packages/nvidia/*/lib",
                "opt/conda/" + wheels, "opt/*/.venv/" + wheels, "opt/*/" + wheels, "root/.local/" + wheels));
        c.addAll(glob(home, ".local/" + wheels));
        c.addAll(glob(root, "usr/lib/x86_64-linux-gnu", "usr/lib64", "lib/x86_64-linux-gnu"));
        Set<Path> seen = new LinkedHashSet<>();
        for (Path p : c) {
            Path n = p.toAbsolutePath().normalize();
            if (Files.isDirectory(n)) seen.add(n);
        }
        return List.copyOf(seen);
    }

    /** Looks for {@code base.so.MAJOR} for each major, highest first, in {@code dirs}. */
    public static Search find(String base, List<Integer> majors, List<Path> dirs) {
        for (int major : majors) {
            for (Path d : dirs) {
                Path f = d.resolve(base + ".so." + major);
                if (Files.isRegularFile(f)) return new Search(base, majors, new Found(f, major), dirs);
            }
        }
        return new Search(base, majors, null, dirs);
    }

    /**
     * Loads {@code lib} after the named siblings of its folder that exist (each as
     * {@code name.so.MAJOR}), so that the libraries it opens itself by name are already in the
     * process: the loader matches an open request against loaded libraries' sonames, even when
     * their folder is not on its path. A sibling that fails to load is tried again after the
     * others (their order of dependence is not documented); one that never loads is left out, and
     * the main library says what it misses when it loads.
     */
    static SymbolLookup load(Found lib, List<String> siblings) {
        List<Path> pending = new ArrayList<>();
        for (String s : siblings) {
            Path p = lib.path().resolveSibling(s + ".so." + lib.major());
            if (Files.isRegularFile(p)) pending.add(p);
        }
        for (int pass = 0; pass < 3 && !pending.isEmpty(); pass++) {
            List<Path> failed = new ArrayList<>();
            for (Path p : pending) {
                try {
                    SymbolLookup.libraryLookup(p, Arena.global());
                } catch (IllegalArgumentException e) {
                    failed.add(p);
                }
            }
            pending = failed;
        }
        try {
            return SymbolLookup.libraryLookup(lib.path(), Arena.global());
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("cannot load " + lib.path() + ": " + e.getMessage(), e);
        }
    }

    /** Orders names with their digit runs compared as numbers: "python3.9" before "python3.12". */
    public static int naturalCompare(String a, String b) {
        int i = 0, j = 0;
        while (i < a.length() && j < b.length()) {
            char x = a.charAt(i), y = b.charAt(j);
            if (Character.isDigit(x) && Character.isDigit(y)) {
                int si = i, sj = j;
                while (i < a.length() && Character.isDigit(a.charAt(i))) i++;
                while (j < b.length() && Character.isDigit(b.charAt(j))) j++;
                String da = a.substring(si, i).replaceFirst("^0+(?=.)", ""), db = b.substring(sj, j).replaceFirst("^0+(?=.)", "");
                int c = da.length() != db.length() ? Integer.compare(da.length(), db.length()) : da.compareTo(db);
                if (c != 0) return c;
            } else {
                if (x != y) return Character.compare(x, y);
                i++;
                j++;
            }
        }
        return Integer.compare(a.length() - i, b.length() - j);
    }

    private static List<String> split(String pathList) {
        List<String> out = new ArrayList<>();
        if (pathList == null) return out;
        for (String s : pathList.split(":")) if (!s.isBlank()) out.add(s);
        return out;
    }

    /** Expands patterns whose segments may hold '*' (within one folder name), below {@code base}. */
    static List<Path> glob(Path base, String... patterns) {
        List<Path> out = new ArrayList<>();
        for (String pattern : patterns) {
            List<Path> level = List.of(base);
            for (String seg : pattern.split("/")) {
                List<Path> next = new ArrayList<>();
                for (Path dir : level) {
                    if (!seg.contains("*")) {
                        Path p = dir.resolve(seg);
                        if (Files.isDirectory(p)) next.add(p);
                        continue;
                    }
                    if (!Files.isDirectory(dir)) continue;
                    List<Path> matches = new ArrayList<>();
                    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, seg)) {
                        for (Path p : ds) if (Files.isDirectory(p)) matches.add(p);
                    } catch (IOException | SecurityException e) {
                        continue; // an unreadable folder holds nothing we can load
                    }
                    // newest first: cuda-13.0 before cuda-12.6, python3.12 before python3.10
                    matches.sort((a, b) -> naturalCompare(b.getFileName().toString(), a.getFileName().toString()));
                    next.addAll(matches);
                }
                level = next;
            }
            out.addAll(level);
        }
        return out;
    }
}

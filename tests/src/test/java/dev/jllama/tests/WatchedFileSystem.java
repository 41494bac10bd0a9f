package dev.jllama.tests;

import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.util.Progressable;

/**
 * The local file system under the scheme {@code watched:}, which checks a publication rule after every change
 * anyone makes through it (Spark tasks included): the watched directory either does not exist or already holds
 * its completion marker. A writer that builds its output in place breaks the rule at its first mkdirs or create,
 * even if it cleans up after a failure. It can also fail the creation of a file of a given name, to stop a writer
 * half-way.
 */
public class WatchedFileSystem extends RawLocalFileSystem {
    static final String SCHEME = "watched";

    private static volatile File watched;
    private static volatile String marker;
    private static volatile String failingName;
    private static final List<String> violations = new CopyOnWriteArrayList<>();

    /** Watches {@code dir} (a local path) from now on, forgetting earlier violations. */
    static void watch(java.nio.file.Path dir, String completionMarker) {
        watched = dir.toFile();
        marker = completionMarker;
        failingName = null;
        violations.clear();
    }

    /** Makes every later create() of a file with this name fail. */
    static void failCreating(String fileName) {
        failingName = fileName;
    }

    static List<String> violations() {
        return List.copyOf(violations);
    }

    static String uri(java.nio.file.Path local) {
        return SCHEME + "://" + local.toAbsolutePath();
    }

    @Override
    public URI getUri() {
        return URI.create(SCHEME + ":///");
    }

    @Override
    public String getScheme() {
        return SCHEME;
    }

    private void check(String operation, Path path) {
        File dir = watched;
        if (dir != null && dir.exists() && !new File(dir, marker).exists()) {
            violations.add("after " + operation + " " + path + ": " + dir + " exists without " + marker);
        }
    }

    @Override
    public FSDataOutputStream create(Path f, boolean overwrite, int bufferSize, short replication, long blockSize,
                                     Progressable progress) throws IOException {
        if (f.getName().equals(failingName)) throw new IOException("injected failure creating " + f);
        FSDataOutputStream out = super.create(f, overwrite, bufferSize, replication, blockSize, progress);
        check("create", f);
        return out;
    }

    @Override
    public FSDataOutputStream create(Path f, FsPermission permission, boolean overwrite, int bufferSize,
                                     short replication, long blockSize, Progressable progress) throws IOException {
        if (f.getName().equals(failingName)) throw new IOException("injected failure creating " + f);
        FSDataOutputStream out = super.create(f, permission, overwrite, bufferSize, replication, blockSize, progress);
        check("create", f);
        return out;
    }

    @Override
    public boolean mkdirs(Path f) throws IOException {
        boolean made = super.mkdirs(f);
        check("mkdirs", f);
        return made;
    }

    @Override
    public boolean mkdirs(Path f, FsPermission permission) throws IOException {
        boolean made = super.mkdirs(f, permission);
        check("mkdirs", f);
        return made;
    }

    @Override
    public boolean rename(Path src, Path dst) throws IOException {
        boolean renamed = super.rename(src, dst);
        check("rename to", dst);
        return renamed;
    }

    @Override
    public boolean delete(Path p, boolean recursive) throws IOException {
        boolean deleted = super.delete(p, recursive);
        check("delete", p);
        return deleted;
    }
}

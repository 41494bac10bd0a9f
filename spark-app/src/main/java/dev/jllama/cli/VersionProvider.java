package dev.jllama.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import picocli.CommandLine.IVersionProvider;

/** {@code llama --version}: the build's version and the git revision it was built from (git.properties). */
final class VersionProvider implements IVersionProvider {

    @Override
    public String[] getVersion() throws IOException {
        Properties git = new Properties();
        try (InputStream in = VersionProvider.class.getResourceAsStream("git.properties")) {
            if (in != null) git.load(in);
        }
        String version = git.getProperty("git.build.version", "(version unknown)");
        String revision = git.getProperty("git.commit.id.abbrev", "unknown revision");
        if ("true".equals(git.getProperty("git.dirty"))) revision += ", uncommitted changes";
        String time = git.getProperty("git.commit.time");
        return new String[] {
            "jllama " + version + " (git " + revision
                    + (time != null ? ", committed " + time : "") + ")",
            "Java " + Runtime.version() + ", " + System.getProperty("java.vm.name")
        };
    }
}

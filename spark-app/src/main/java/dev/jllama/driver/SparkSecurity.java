package dev.jllama.driver;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HexFormat;
import org.apache.spark.SparkConf;

/**
 * Spark's RPC authentication and encryption, on by default for every master that puts a network between the driver
 * and its executors. Our per-job secret (the ring's and the progress channel's key) reaches the executors inside the
 * serialised task, so without Spark's encryption anyone who can read the network can read it. Settings the user gives
 * win: {@code spark.authenticate=false} (or {@code spark.network.crypto.enabled=false}), given as {@code --conf}, to
 * spark-submit or as a system property, is the opt-out.
 */
public final class SparkSecurity {
    /**
     * A file holding a standalone cluster's shared secret (test-hosts.sh writes one), read into
     * {@code spark.authenticate.secret} so that the secret stays off command lines.
     */
    public static final String SECRET_FILE = "spark.jllama.authenticate.secretFile";

    private SparkSecurity() {}

    /** Adds the defaults to {@code conf}, whose {@code spark.master} is set; returns it. */
    public static SparkConf secure(SparkConf conf) {
        String master = conf.get("spark.master");
        if (TrainDriver.isLocal(master)) return conf; // one JVM: nothing crosses a network
        conf.setIfMissing("spark.authenticate", "true");
        if (!conf.getBoolean("spark.authenticate", false)) return conf;
        conf.setIfMissing("spark.network.crypto.enabled", "true");
        if (conf.contains("spark.authenticate.secret")) return conf;
        if (conf.contains(SECRET_FILE)) {
            conf.set("spark.authenticate.secret", read(Path.of(conf.get(SECRET_FILE))));
        } else if (master.startsWith("local-cluster")) {
            // Its master and workers run in this JVM on this configuration: a secret of this job's own will do.
            byte[] secret = new byte[32];
            new SecureRandom().nextBytes(secret);
            conf.set("spark.authenticate.secret", HexFormat.of().formatHex(secret));
        } else if (master.startsWith("spark://")) {
            // A standalone master and its workers share one secret of their own; Spark would only say it is missing.
            throw new IllegalArgumentException("--master " + master + ": Spark's RPC authentication and encryption "
                    + "are on by default, and a standalone cluster needs its shared secret: give "
                    + "spark.authenticate.secret (or " + SECRET_FILE + "=FILE) as the master and workers have it, "
                    + "or opt out with spark.authenticate=false (as --conf, spark-submit's --conf or -D in LLAMA_JAVA_OPTS)");
        }
        return conf; // YARN and Kubernetes make and hand out a secret per application themselves
    }

    private static String read(Path file) {
        try {
            String secret = Files.readString(file, StandardCharsets.UTF_8).strip();
            if (secret.isEmpty()) throw new IllegalArgumentException(SECRET_FILE + ": " + file + " is empty");
            return secret;
        } catch (IOException e) {
            throw new IllegalArgumentException(SECRET_FILE + ": cannot read " + file + ": " + e.getMessage(), e);
        }
    }
}

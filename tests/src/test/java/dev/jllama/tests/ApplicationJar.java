package dev.jllama.tests;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/** The application jar for spark-submit, as `./mvnw package` (or verify) leaves it in spark-app/target. */
final class ApplicationJar {
    static final Path ROOT = Path.of("").toAbsolutePath().getParent();
    static final Path PATH = ROOT.resolve("spark-app/target/jllama-spark-app-0.1.0-SNAPSHOT-spark.jar");

    private ApplicationJar() {}

    /** Skips, saying why, where spark-app was not packaged in this build (`./mvnw test` stops before package). */
    static void assumeBuilt() {
        assumeTrue(Files.isRegularFile(PATH), PATH + " is not built: run the tests with ./mvnw verify, whose package "
                + "phase of spark-app comes before the tests module's tests");
    }
}

package dev.jllama.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.jar.JarFile;
import java.util.spi.ToolProvider;
import java.util.zip.ZipEntry;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The application jar for spark-submit holds what a cluster's Spark lacks and nothing it ships: this project's
 * classes, its backend service registration, the bundled corpus and tokenizer, and protobuf (relocated: a Spark
 * distribution has no protobuf-java); no Spark, Scala, Hadoop, Jackson, Log4j or SLF4J classes.
 */
class ApplicationJarTest {
    @BeforeAll
    static void built() {
        ApplicationJar.assumeBuilt();
    }

    @Test
    void holdsTheProjectAndRelocatedProtobufButNothingSparkShips() throws IOException {
        try (JarFile jar = new JarFile(ApplicationJar.PATH.toFile())) {
            List<String> names = jar.stream().map(ZipEntry::getName).toList();
            for (String needed : List.of("dev/jllama/cli/Main.class", "dev/jllama/rank/RankTask.class",
                    "dev/jllama/model/backend/cpu/CpuBackend.class", "dev/jllama/data/prepare/BundledCorpus.class",
                    "META-INF/services/dev.jllama.model.backend.BackendProvider",
                    "dev/jllama/shaded/protobuf/Message.class")) {
                assertTrue(names.contains(needed), ApplicationJar.PATH + " lacks " + needed);
            }
            assertTrue(names.stream().anyMatch(n -> n.startsWith("dev/jllama/data/corpus/")), "bundled corpus missing");
            assertEquals("dev.jllama.cli.Main", jar.getManifest().getMainAttributes().getValue("Main-Class"));
            for (String name : names) {
                if (!name.endsWith(".class")) continue;
                // Spark, Scala, Hadoop, Jackson, Log4j, SLF4J: the cluster's; anything else is relocated under ours,
                // except OpenBLAS's JavaCPP loader, whose native libraries are bound to its package names.
                String path = name.replaceFirst("^META-INF/versions/\\d+/", "");
                assertTrue(path.startsWith("dev/jllama/") || path.startsWith("org/bytedeco/"),
                        "a class that is not under dev/jllama (relocate it or leave it to the cluster): " + name);
            }
        }
    }

    /**
     * Every class the jar refers to is in the jar or on Spark's class path (this JVM's, less this project and
     * protobuf-java): jdeps finds no missing dependency.
     */
    @Test
    void resolvesAgainstSparkAlone() {
        String sparkClassPath = String.join(java.io.File.pathSeparator, YarnTrainingTest.sparkJars().stream()
                .filter(jar -> !jar.contains("protobuf-java")).toList());
        ToolProvider jdeps = ToolProvider.findFirst("jdeps").orElseThrow();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream print = new PrintStream(out, true, StandardCharsets.UTF_8);
        int status = jdeps.run(print, print, "--multi-release", "25", "--missing-deps", "--class-path", sparkClassPath,
                ApplicationJar.PATH.toString());
        String report = out.toString(StandardCharsets.UTF_8).strip();
        assertEquals(0, status, report);
        assertEquals("", report, "classes the application jar needs that neither it nor Spark's class path holds");
    }
}

package dev.jllama.javacheck;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The executors' line: none on Java 25 or later, else the Java found and the remedy for the cluster's kind. */
class ExecutorJavaCheckTest {
    @Test
    void java25AndLaterPass() {
        assertNull(ExecutorJavaCheck.problem(25, "25.0.1", "/opt/jdk-25", "1", "node7", "yarn"));
        assertNull(ExecutorJavaCheck.problem(26, "26", "/opt/jdk-26", "1", "node7", "spark://m:7077"));
    }

    @Test
    void olderJavaNamesItselfAndTheOptionForTheCluster() {
        String yarn = ExecutorJavaCheck.problem(17, "17.0.15", "/usr/lib/jvm/java-17", "3", "node7", "yarn");
        assertTrue(yarn.startsWith("executor 3 on node7 runs Java 17.0.15 (/usr/lib/jvm/java-17)"
                + ExecutorJavaCheck.NEEDS + "ship one with the job (submit/cluster/yarn.sh: JDK="), yarn);
        assertEquals(1, yarn.lines().count());
        assertTrue(ExecutorJavaCheck.problem(21, "21", "/j", "0", "h", "spark://m:7077")
                .contains("EXECUTOR_JAVA_HOME="));
        assertTrue(ExecutorJavaCheck.problem(21, "21", "/j", "0", "h", "k8s://https://api:6443")
                .contains("build-image.sh"));
    }
}

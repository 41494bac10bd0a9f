package dev.jllama.driver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Spark's authentication and encryption are on for every master with a network in it, and the user's settings win. */
class SparkSecurityTest {
    @TempDir
    Path dir;

    private static SparkConf conf(String master, String... settings) {
        return TrainDriver.sparkConf(master, List.of(settings));
    }

    @Test
    void onForYarnAndKubernetesWhichMakeTheirOwnSecret() {
        for (String master : List.of("yarn", "k8s://https://api:6443")) {
            SparkConf conf = conf(master);
            assertEquals("true", conf.get("spark.authenticate"), master);
            assertEquals("true", conf.get("spark.network.crypto.enabled"), master);
            assertFalse(conf.contains("spark.authenticate.secret"), master);
        }
    }

    @Test
    void aLocalClusterGetsASecretOfItsOwnPerJob() {
        SparkConf a = conf("local-cluster[2,1,1024]"), b = conf("local-cluster[2,1,1024]");
        assertEquals("true", a.get("spark.network.crypto.enabled"));
        assertTrue(a.get("spark.authenticate.secret").matches("[0-9a-f]{64}"), a.get("spark.authenticate.secret"));
        assertNotEquals(a.get("spark.authenticate.secret"), b.get("spark.authenticate.secret"));
    }

    @Test
    void aStandaloneClusterNeedsItsSecretGivenOrFromAFile() throws Exception {
        String message = assertThrows(IllegalArgumentException.class, () -> conf("spark://m:7077")).getMessage();
        assertTrue(message.contains("spark.authenticate.secret") && message.contains("spark.authenticate=false"), message);
        Path file = Files.writeString(dir.resolve("secret"), "abc123\n");
        assertEquals("abc123", conf("spark://m:7077", SparkSecurity.SECRET_FILE + "=" + file)
                .get("spark.authenticate.secret"));
        assertEquals("given", conf("spark://m:7077", "spark.authenticate.secret=given").get("spark.authenticate.secret"));
    }

    @Test
    void theUsersSettingsWin() {
        SparkConf off = conf("spark://m:7077", "spark.authenticate=false");
        assertEquals("false", off.get("spark.authenticate"));
        assertFalse(off.contains("spark.network.crypto.enabled"));
        SparkConf plain = conf("local-cluster[2,1,1024]", "spark.network.crypto.enabled=false");
        assertEquals("true", plain.get("spark.authenticate"));
        assertEquals("false", plain.get("spark.network.crypto.enabled"));
    }

    @Test
    void localSparkIsLeftAlone() {
        assertFalse(conf(null).contains("spark.authenticate"));
        assertFalse(conf("local[2]").contains("spark.network.crypto.enabled"));
    }
}

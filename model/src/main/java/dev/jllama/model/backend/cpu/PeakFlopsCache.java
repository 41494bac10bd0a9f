package dev.jllama.model.backend.cpu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Measured matmul peaks kept between runs, one JSON object in a file ({@code ~/.cache/jllama/peak-flops.json} by
 * default; system property {@value #PROPERTY} names another): {@code {"<cpu model> | <threads> threads | <matmul
 * kernel>": flops, ...}}. Delete the file to measure again (e.g. after a probe on a busy machine).
 *
 * <p>A cache, never a reason to fail: a missing, unreadable or corrupt file, or an entry that is not a positive
 * number, reads as no entry, and a file that cannot be written is left as it is. Writers put a whole new file beside
 * it and rename it over the old one, so a reader sees one writer's complete file whatever runs at the same time;
 * two processes that add entries at the same moment may each keep only their own, and the lost one is measured
 * again next time.
 */
final class PeakFlopsCache {
    static final String PROPERTY = "jllama.peakFlopsCache";
    private static final System.Logger LOG = System.getLogger(PeakFlopsCache.class.getName());
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private final Path file;

    PeakFlopsCache(Path file) {
        this.file = file;
    }

    /** The file the system property names, else {@code ~/.cache/jllama/peak-flops.json}. */
    static PeakFlopsCache standard() {
        String configured = System.getProperty(PROPERTY);
        return new PeakFlopsCache(configured != null ? Path.of(configured)
                : Path.of(System.getProperty("user.home"), ".cache", "jllama", "peak-flops.json"));
    }

    Path file() {
        return file;
    }

    /** The peak recorded for {@code key}, or null. */
    Double get(String key) {
        return get(read(), key);
    }

    private static Double get(ObjectNode entries, String key) {
        JsonNode value = entries.get(key);
        if (value == null || !value.isNumber()) return null;
        double flops = value.asDouble();
        return flops > 0 && Double.isFinite(flops) ? flops : null;
    }

    /**
     * Records {@code flops} for {@code key}, keeping the file's other entries, and a higher figure already recorded
     * for the same key (ranks on one machine probe at the same time and slow each other down).
     */
    void put(String key, double flops) {
        ObjectNode entries = read();
        Double recorded = get(entries, key);
        entries.put(key, recorded != null ? Math.max(recorded, flops) : flops);
        Path tmp = null;
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            tmp = Files.createTempFile(file.toAbsolutePath().getParent(), "." + file.getFileName(), ".tmp");
            MAPPER.writerWithDefaultPrettyPrinter().writeValue(tmp.toFile(), entries);
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot write the peak FLOP/s cache " + file + ": " + e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // a leftover temporary file is harmless
                }
            }
        }
    }

    /** The entries, or none when the file is missing or not a JSON object. */
    private ObjectNode read() {
        try {
            JsonNode node = MAPPER.readTree(Files.readAllBytes(file));
            if (node instanceof ObjectNode entries) return entries;
            LOG.log(System.Logger.Level.WARNING, "the peak FLOP/s cache " + file + " is not a JSON object; measuring again");
        } catch (NoSuchFileException e) {
            // nothing cached yet
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "the peak FLOP/s cache " + file + " is unreadable (" + e.getMessage()
                    + "); measuring again");
        }
        return MAPPER.createObjectNode();
    }
}

package dev.jllama.data.prepare;

import java.util.Map;

/**
 * Outcome of one preparation run.
 *
 * @param dataset    the dataset directory (fully qualified URI)
 * @param stats      counts of what was read, removed and written (the manifest's "preparation" section)
 * @param inputBytes bytes of input text read (UTF-8, after decompression)
 * @param seconds    wall time of the whole job
 */
public record PrepareResult(String dataset, Map<String, Object> stats, long inputBytes, double seconds) {

    /** Input text megabytes (10^6 bytes) per second of wall time, Spark job start-up included. */
    public double megabytesPerSecond() {
        return seconds <= 0 ? 0 : inputBytes / 1e6 / seconds;
    }
}

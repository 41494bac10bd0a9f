package dev.jllama.data.prepare;

import java.util.Locale;

/** How an input file is read, chosen by its name. */
enum InputFormat {
    /** Documents separated by blank lines; plain, .gz or .bz2 (Hadoop's codecs; .bz2 splits across tasks). */
    TEXT,
    /** JSON lines, plain or bzip2 (Hadoop's codec splits bzip2 at its blocks), split across tasks. */
    JSON_LINES,
    /** JSON lines compressed with gzip or zstd, which cannot be split: one task per file. */
    COMPRESSED_JSON_LINES,
    /** Parquet through Spark's DataFrame reader (split by row group). */
    PARQUET,
    /** ORC through Spark's DataFrame reader (split by stripe). */
    ORC,
    /** Common Crawl WET (WARC conversion records), plain or gzip: one task per file. */
    WET;

    static final String[] COMPRESSIONS = {".gz", ".bz2", ".zst"};

    /** The file name's compression suffix (".gz", ".bz2", ".zst"), or "" when none. */
    static String compression(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        for (String c : COMPRESSIONS) {
            if (n.endsWith(c)) return c;
        }
        return "";
    }

    /** The format of a file, or an exception saying why it cannot be read. */
    static InputFormat of(String path) throws java.io.IOException {
        String name = path.substring(path.lastIndexOf('/') + 1).toLowerCase(Locale.ROOT);
        String compression = compression(name);
        String base = name.substring(0, name.length() - compression.length());
        if (base.endsWith(".parquet")) return compression.isEmpty() ? PARQUET : unsupported(path, compression, "Parquet");
        if (base.endsWith(".orc")) return compression.isEmpty() ? ORC : unsupported(path, compression, "ORC");
        if (base.endsWith(".wet") || base.endsWith(".warc.wet") || base.endsWith(".warc")) {
            return compression.isEmpty() || compression.equals(".gz") ? WET : unsupported(path, compression, "WET");
        }
        if (base.endsWith(".jsonl") || base.endsWith(".json") || base.endsWith(".ndjson")) {
            return compression.isEmpty() || compression.equals(".bz2") ? JSON_LINES : COMPRESSED_JSON_LINES;
        }
        return compression.equals(".zst") ? unsupported(path, compression, "text") : TEXT;
    }

    private static InputFormat unsupported(String path, String compression, String kind) throws java.io.IOException {
        throw new java.io.IOException("input " + path + ": " + kind + " files compressed as " + compression
                + " are not read (compressed JSON lines are: *.jsonl.gz, *.jsonl.bz2, *.jsonl.zst)");
    }
}

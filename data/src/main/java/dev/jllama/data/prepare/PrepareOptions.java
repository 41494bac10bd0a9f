package dev.jllama.data.prepare;

import dev.jllama.data.tokenizer.Tokenizer;
import java.util.List;

/**
 * What the preparation job reads, writes and how it filters. Exactly one tokenizer source is set: a model file
 * (local or Hadoop URI), a {@link Tokenizer} instance, or a vocabulary size to train one in the same job.
 *
 * @param inputs           files, directories (read recursively) or globs, each optionally as NAME=PATH to name its
 *                         source; the format follows the file name: *.parquet, *.orc, *.warc.wet[.gz] (Common Crawl
 *                         WET), *.jsonl / *.json / *.ndjson (optionally .gz, .bz2 or .zst), anything else text with
 *                         documents separated by blank lines (optionally .gz or .bz2)
 * @param output           dataset directory to create; must not exist
 * @param valFraction      share of documents (chosen by document hash) that go to the validation split
 * @param shardTokens      tokens per shard (the last shard of a split holds the rest)
 * @param lineDupThreshold a normalised line occurring more than this many times in the corpus is removed
 *                         everywhere (0 turns line deduplication off)
 * @param partitions       Spark partitions for the shuffles and the minimum number of input splits (0: Spark's
 *                         default parallelism, at least one per 64 MiB of input); has no effect on the output bytes
 * @param textColumn       the JSON field or Parquet/ORC column holding the text
 * @param sourceColumn     the JSON field or Parquet/ORC column naming each document's source (null: none; where
 *                         absent or null, the input's source)
 * @param exactDedup       remove documents whose cleaned text equals another's
 * @param nearDedup        MinHash near-duplicate removal settings; null turns it off
 * @param decontaminate    evaluation task files (JSON lines); documents sharing an n-gram with an item are removed
 * @param decontaminationNgram words per n-gram for decontamination
 * @param annotations      directory to write the annotations table to (one row per input document: every heuristic
 *                         signal, the scorers' columns, duplicate groups and the step that removed it); null: none
 * @param fromAnnotations  build from a table written by an earlier run instead of computing signals (the inputs and
 *                         the reading settings are the ones recorded there; the text is read again); null: no
 * @param where            a Spark SQL boolean expression over the annotation columns that a document must satisfy,
 *                         besides min chars and max symbol ratio; null: none
 * @param minQuality       shorthand for the clause {@code quality_score >= X}; NaN: none
 * @param scorers          model-based signals computed on the executors, each filling its column
 * @param sourceShards     whether each source gets shards of its own (so that a mixture can weight the sources of
 *                         one dataset); null: when the input has at most {@link #AUTO_SOURCE_SHARDS_LIMIT} sources
 * @param stageTokens      with a given tokenizer, count every document's tokens, so that each stage reports the
 *                         tokens it let through (counted where a document leaves the job, see {@link StageTokens})
 */
public record PrepareOptions(
        List<String> inputs,
        String output,
        String tokenizerFile,
        Tokenizer tokenizer,
        int vocabSize,
        double valFraction,
        long shardTokens,
        int lineDupThreshold,
        QualityFilter quality,
        int partitions,
        String textColumn,
        String sourceColumn,
        boolean exactDedup,
        NearDedupOptions nearDedup,
        List<String> decontaminate,
        int decontaminationNgram,
        String annotations,
        String fromAnnotations,
        String where,
        double minQuality,
        List<DocumentScorer> scorers,
        Boolean sourceShards,
        boolean stageTokens) {

    public static final double DEFAULT_VAL_FRACTION = 0.01;
    public static final long DEFAULT_SHARD_TOKENS = 100_000_000L;
    public static final int DEFAULT_LINE_DUP_THRESHOLD = 2;
    public static final int DEFAULT_MIN_CHARS = 100;
    public static final double DEFAULT_MAX_SYMBOL_RATIO = 0.25;
    public static final QualityFilter DEFAULT_QUALITY = new QualityFilter(DEFAULT_MIN_CHARS, DEFAULT_MAX_SYMBOL_RATIO);
    public static final String DEFAULT_TEXT_COLUMN = "text";
    public static final int DEFAULT_DECONTAMINATION_NGRAM = 13;
    /** Beyond this many sources (a source column of repository names, say) shards mix them unless told otherwise. */
    public static final int AUTO_SOURCE_SHARDS_LIMIT = 64;

    public PrepareOptions {
        inputs = List.copyOf(inputs);
        decontaminate = List.copyOf(decontaminate);
        scorers = List.copyOf(scorers);
        if (inputs.isEmpty()) throw new IllegalArgumentException("at least one input path is needed");
        if (fromAnnotations != null && !decontaminate.isEmpty()) {
            throw new IllegalArgumentException("building from annotations reuses their decontamination: give no task files");
        }
        if (output == null || output.isBlank()) throw new IllegalArgumentException("an output directory is needed");
        int sources = (tokenizerFile != null ? 1 : 0) + (tokenizer != null ? 1 : 0) + (vocabSize > 0 ? 1 : 0);
        if (sources != 1) {
            throw new IllegalArgumentException("give exactly one of a tokenizer file, a tokenizer, or a vocabulary size to train (got "
                    + sources + ")");
        }
        if (!(valFraction >= 0 && valFraction < 1)) throw new IllegalArgumentException("val fraction must be in [0, 1), got " + valFraction);
        if (shardTokens < 2) throw new IllegalArgumentException("shard tokens must be at least 2, got " + shardTokens);
        if (lineDupThreshold < 0) throw new IllegalArgumentException("line dup threshold must be >= 0, got " + lineDupThreshold);
        if (partitions < 0) throw new IllegalArgumentException("partitions must be >= 0, got " + partitions);
        if (quality == null) throw new IllegalArgumentException("quality filter settings are needed");
        if (textColumn == null || textColumn.isBlank()) throw new IllegalArgumentException("a text column name is needed");
        if (annotations != null && fromAnnotations != null) {
            throw new IllegalArgumentException("give annotations to write or annotations to build from, not both");
        }
        if (fromAnnotations != null && !scorers.isEmpty()) {
            throw new IllegalArgumentException("building from annotations computes no signal: scorers cannot run");
        }
        if (where != null && where.isBlank()) throw new IllegalArgumentException("the where expression is empty");
        if (java.util.Set.copyOf(scorers.stream().map(DocumentScorer::column).toList()).size() != scorers.size()) {
            throw new IllegalArgumentException("two scorers fill the same column");
        }
        if (decontaminationNgram < 1) throw new IllegalArgumentException("decontamination n-gram must be at least 1 word, got " + decontaminationNgram);
    }

    private static PrepareOptions defaults(List<String> inputs, String output, String file, Tokenizer tokenizer, int vocab) {
        return new PrepareOptions(inputs, output, file, tokenizer, vocab, DEFAULT_VAL_FRACTION, DEFAULT_SHARD_TOKENS,
                DEFAULT_LINE_DUP_THRESHOLD, DEFAULT_QUALITY, 0, DEFAULT_TEXT_COLUMN, null, true, NearDedupOptions.DEFAULT,
                List.of(), DEFAULT_DECONTAMINATION_NGRAM, null, null, null, Double.NaN, List.of(), null, true);
    }

    /** The path of an input given as PATH or NAME=PATH. */
    public static String inputPath(String input) {
        return DocumentInput.Input.parse(input).path();
    }

    /** Defaults with a given tokenizer model file. */
    public static PrepareOptions withTokenizerFile(List<String> inputs, String output, String tokenizerFile) {
        return defaults(inputs, output, tokenizerFile, null, 0);
    }

    /** Defaults with a tokenizer instance. */
    public static PrepareOptions withTokenizer(List<String> inputs, String output, Tokenizer tokenizer) {
        return defaults(inputs, output, null, tokenizer, 0);
    }

    /** Defaults, training a tokenizer of {@code vocabSize} pieces in the job. */
    public static PrepareOptions withTrainedTokenizer(List<String> inputs, String output, int vocabSize) {
        return defaults(inputs, output, null, null, vocabSize);
    }

    public PrepareOptions valFraction(double f) {
        return new PrepareOptions(inputs, output, tokenizerFile, tokenizer, vocabSize, f, shardTokens, lineDupThreshold,
                quality, partitions, textColumn, sourceColumn, exactDedup, nearDedup, decontaminate, decontaminationNgram, annotations, fromAnnotations, where, minQuality, scorers, sourceShards, stageTokens);
    }

    public PrepareOptions shardTokens(long n) {
        return new PrepareOptions(inputs, output, tokenizerFile, tokenizer, vocabSize, valFraction, n, lineDupThreshold,
                quality, partitions, textColumn, sourceColumn, exactDedup, nearDedup, decontaminate, decontaminationNgram, annotations, fromAnnotations, where, minQuality, scorers, sourceShards, stageTokens);
    }

    public PrepareOptions lineDupThreshold(int n) {
        return new PrepareOptions(inputs, output, tokenizerFile, tokenizer, vocabSize, valFraction, shardTokens, n,
                quality, partitions, textColumn, sourceColumn, exactDedup, nearDedup, decontaminate, decontaminationNgram, annotations, fromAnnotations, where, minQuality, scorers, sourceShards, stageTokens);
    }

    public PrepareOptions quality(QualityFilter q) {
        return new PrepareOptions(inputs, output, tokenizerFile, tokenizer, vocabSize, valFraction, shardTokens,
                lineDupThreshold, q, partitions, textColumn, sourceColumn, exactDedup, nearDedup, decontaminate, decontaminationNgram, annotations, fromAnnotations, where, minQuality, scorers, sourceShards, stageTokens);
    }

    public PrepareOptions partitions(int n) {
        return new PrepareOptions(inputs, output, tokenizerFile, tokenizer, vocabSize, valFraction, shardTokens,
                lineDupThreshold, quality, n, textColumn, sourceColumn, exactDedup, nearDedup, decontaminate, decontaminationNgram, annotations, fromAnnotations, where, minQuality, scorers, sourceShards, stageTokens);
    }

    public PrepareOptions output(String dir) {
        return new PrepareOptions(inputs, dir, tokenizerFile, tokenizer, vocabSize, valFraction, shardTokens,
                lineDupThreshold, quality, partitions, textColumn, sourceColumn, exactDedup, nearDedup, decontaminate, decontaminationNgram, annotations, fromAnnotations, where, minQuality, scorers, sourceShards, stageTokens);
    }

    /** The text field/column and the optional source field/column (null: none). */
    public PrepareOptions columns(String text, String source) {
        return new PrepareOptions(inputs, output, tokenizerFile, tokenizer, vocabSize, valFraction, shardTokens,
                lineDupThreshold, quality, partitions, text, source, exactDedup, nearDedup, decontaminate, decontaminationNgram, annotations, fromAnnotations, where, minQuality, scorers, sourceShards, stageTokens);
    }

    public PrepareOptions exactDedup(boolean on) {
        return new PrepareOptions(inputs, output, tokenizerFile, tokenizer, vocabSize, valFraction, shardTokens,
                lineDupThreshold, quality, partitions, textColumn, sourceColumn, on, nearDedup, decontaminate, decontaminationNgram, annotations, fromAnnotations, where, minQuality, scorers, sourceShards, stageTokens);
    }

    /** Near-duplicate removal settings; null turns it off. */
    public PrepareOptions nearDedup(NearDedupOptions n) {
        return new PrepareOptions(inputs, output, tokenizerFile, tokenizer, vocabSize, valFraction, shardTokens,
                lineDupThreshold, quality, partitions, textColumn, sourceColumn, exactDedup, n, decontaminate, decontaminationNgram, annotations, fromAnnotations, where, minQuality, scorers, sourceShards, stageTokens);
    }

    /** Evaluation task files to decontaminate against, with n-grams of {@code ngram} words. */
    public PrepareOptions decontaminate(List<String> taskFiles, int ngram) {
        return new PrepareOptions(inputs, output, tokenizerFile, tokenizer, vocabSize, valFraction, shardTokens,
                lineDupThreshold, quality, partitions, textColumn, sourceColumn, exactDedup, nearDedup, taskFiles, ngram, annotations, fromAnnotations, where, minQuality, scorers, sourceShards, stageTokens);
    }

    /** Writes the annotations table to {@code dir} (null: none). */
    public PrepareOptions annotations(String dir) {
        return new PrepareOptions(inputs, output, tokenizerFile, tokenizer, vocabSize, valFraction, shardTokens,
                lineDupThreshold, quality, partitions, textColumn, sourceColumn, exactDedup, nearDedup, decontaminate,
                decontaminationNgram, dir, fromAnnotations, where, minQuality, scorers, sourceShards, stageTokens);
    }

    /** Builds from the annotations table in {@code dir} instead of computing signals (null: no). */
    public PrepareOptions fromAnnotations(String dir) {
        return new PrepareOptions(inputs, output, tokenizerFile, tokenizer, vocabSize, valFraction, shardTokens,
                lineDupThreshold, quality, partitions, textColumn, sourceColumn, exactDedup, nearDedup, decontaminate,
                decontaminationNgram, annotations, dir, where, minQuality, scorers, sourceShards, stageTokens);
    }

    /** Keeps only documents satisfying the Spark SQL expression {@code expression} (null: none). */
    public PrepareOptions where(String expression) {
        return new PrepareOptions(inputs, output, tokenizerFile, tokenizer, vocabSize, valFraction, shardTokens,
                lineDupThreshold, quality, partitions, textColumn, sourceColumn, exactDedup, nearDedup, decontaminate,
                decontaminationNgram, annotations, fromAnnotations, expression, minQuality, scorers, sourceShards, stageTokens);
    }

    /** Keeps only documents with {@code quality_score >= x} (NaN: no such clause). */
    public PrepareOptions minQuality(double x) {
        return new PrepareOptions(inputs, output, tokenizerFile, tokenizer, vocabSize, valFraction, shardTokens,
                lineDupThreshold, quality, partitions, textColumn, sourceColumn, exactDedup, nearDedup, decontaminate,
                decontaminationNgram, annotations, fromAnnotations, where, x, scorers, sourceShards, stageTokens);
    }

    /** Model-based signals to compute on the executors. */
    public PrepareOptions scorers(List<DocumentScorer> s) {
        return new PrepareOptions(inputs, output, tokenizerFile, tokenizer, vocabSize, valFraction, shardTokens,
                lineDupThreshold, quality, partitions, textColumn, sourceColumn, exactDedup, nearDedup, decontaminate,
                decontaminationNgram, annotations, fromAnnotations, where, minQuality, s, sourceShards, stageTokens);
    }

    /** Whether each source gets shards of its own (null: when there are at most {@link #AUTO_SOURCE_SHARDS_LIMIT}). */
    public PrepareOptions sourceShards(Boolean on) {
        return new PrepareOptions(inputs, output, tokenizerFile, tokenizer, vocabSize, valFraction, shardTokens,
                lineDupThreshold, quality, partitions, textColumn, sourceColumn, exactDedup, nearDedup, decontaminate,
                decontaminationNgram, annotations, fromAnnotations, where, minQuality, scorers, on, stageTokens);
    }

    /** Whether each document's tokens are counted (with a given tokenizer), for every stage's report. */
    public PrepareOptions stageTokens(boolean on) {
        return new PrepareOptions(inputs, output, tokenizerFile, tokenizer, vocabSize, valFraction, shardTokens,
                lineDupThreshold, quality, partitions, textColumn, sourceColumn, exactDedup, nearDedup, decontaminate,
                decontaminationNgram, annotations, fromAnnotations, where, minQuality, scorers, sourceShards, on);
    }

    /** The tokenizer read from {@link #tokenizerFile}, given instead of the file. */
    PrepareOptions tokenizerRead(Tokenizer t) {
        return new PrepareOptions(inputs, output, null, t, vocabSize, valFraction, shardTokens,
                lineDupThreshold, quality, partitions, textColumn, sourceColumn, exactDedup, nearDedup, decontaminate,
                decontaminationNgram, annotations, fromAnnotations, where, minQuality, scorers, sourceShards, stageTokens);
    }

    /** Whether documents get their signals computed and filtered by expression (else the plain two filters run). */
    boolean signals() {
        return annotations != null || where != null || !Double.isNaN(minQuality) || !scorers.isEmpty();
    }
}

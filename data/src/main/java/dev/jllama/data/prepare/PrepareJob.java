package dev.jllama.data.prepare;

import dev.jllama.data.shard.Dataset;
import dev.jllama.data.shard.DatasetWriter;
import dev.jllama.data.shard.Manifest;
import dev.jllama.data.shard.ShardInfo;
import dev.jllama.data.shard.TokenWidth;
import dev.jllama.data.tokenizer.BpeTrainer;
import dev.jllama.data.tokenizer.BpeTrainerOptions;
import dev.jllama.data.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Consumer;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import scala.Tuple2;

/**
 * The Spark data-preparation job, as a list of steps that each report what they let through per source:
 * read ({@link DocumentInput}: text, JSON lines, Parquet, ORC, WET) → NFC + cleanup ({@link TextCleaner}) → exact
 * document dedup ({@link ExactDedup}) → near-duplicate removal ({@link NearDedup}) → decontamination
 * ({@link Decontamination}) → removal of frequently repeated lines → quality filters → train/val split by document
 * hash → tokenisation (EOS after every document) → shards sorted by document hash → manifest and report
 * ({@link PrepareReport}). Both deduplications run before the split, so no copy straddles train and validation.
 * <p>
 * The output bytes depend on the input content and the options only: documents are ordered by their content hash,
 * shard boundaries are cut from the concatenated token stream, and nothing time- or partition-dependent is stored.
 * The dataset is built in a hidden sibling directory, the manifest is written last, and the directory is renamed
 * into place at the end, so a failed job never leaves something that looks like a dataset.
 */
public final class PrepareJob {
    private PrepareJob() {}

    private static final long PARTITION_BYTES = 64L << 20;

    public static final String NORMALIZATION = "NFC + cleanup (controls removed, whitespace collapsed, lines trimmed)";

    public static PrepareResult run(JavaSparkContext sc, PrepareOptions o, Consumer<String> log) throws IOException {
        long t0 = System.nanoTime();
        Configuration conf = sc.hadoopConfiguration();
        o = withTokenizerRead(o, conf);
        Path out = new Path(o.output());
        FileSystem fs = DatasetWriter.withoutSideChecksums(out.getFileSystem(conf));
        out = fs.makeQualified(out);
        if (fs.exists(out)) {
            boolean complete = fs.exists(new Path(out, Manifest.FILE_NAME));
            throw new IOException("output " + out + " already exists" + (complete
                    ? " and holds a complete dataset" : " but has no manifest.json (an unfinished dataset? remove it)"));
        }
        Annotating annotating = check(sc, o);
        if (out.getParent() != null) fs.mkdirs(out.getParent());
        Path tmp = new Path(out.getParent(), "." + out.getName() + ".tmp-" + UUID.randomUUID());
        try {
            Map<String, Object> stats;
            try {
                stats = build(sc, o, fs, tmp, annotating, log);
            } catch (Exception e) { // Spark's checked SparkException is not declared by its Java API
                if (e instanceof org.apache.spark.SparkException se) throw taskFailure(se);
                if (e instanceof IOException io) throw io;
                if (e instanceof RuntimeException re) throw re;
                throw new IOException(e.getMessage(), e);
            }
            if (!fs.rename(tmp, out)) {
                throw new IOException("could not rename " + tmp + " to " + out + " (did another job create it meanwhile?)");
            }
            Dataset.open(out.toString(), conf); // the published dataset must open
            if (annotating.tableTmp() != null && !annotating.fs().rename(annotating.tableTmp(), annotating.table())) {
                throw new IOException("could not rename " + annotating.tableTmp() + " to " + annotating.table());
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            long textBytes = ((Number) stats.get("input_text_bytes")).longValue();
            PrepareResult r = new PrepareResult(out.toString(), stats, textBytes, seconds);
            log.accept(String.format("prepared %s: %.1f MB of text in %.1f s (%.2f MB/s)", out, textBytes / 1e6, seconds,
                    r.megabytesPerSecond()));
            return r;
        } catch (IOException | RuntimeException | Error e) {
            try {
                fs.delete(tmp, true);
                if (annotating.tableTmp() != null) annotating.fs().delete(annotating.tableTmp(), true);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /**
     * The signal settings, checked before any work: the filter expression against the annotation table's schema
     * (one-line IllegalArgumentException naming the option), the annotations directory to write (must not exist)
     * or to read (must hold a table written by {@code --annotations}).
     *
     * @param filter   the clauses (null when no signals are computed or read)
     * @param fs       the annotations directory's file system (null: none)
     * @param table    the directory to write or read (null: none)
     * @param tableTmp where the table is written before it is renamed into place with the dataset (null: none)
     * @param meta     how the annotated run read its inputs (only when building from annotations)
     */
    record Annotating(FilterExpression filter, FileSystem fs, Path table, Path tableTmp, AnnotationsTable.Meta meta) {}

    /** Checks the signal options before any work (see {@link Annotating}); public so that a command checks first. */
    public static void checkOptions(JavaSparkContext sc, PrepareOptions o) throws IOException {
        check(sc, o);
    }

    private static Annotating check(JavaSparkContext sc, PrepareOptions o) throws IOException {
        if (!o.signals() && o.fromAnnotations() == null) return new Annotating(null, null, null, null, null);
        FilterExpression filter = FilterExpression.of(o.quality(), o.where(), o.minQuality());
        Configuration conf = sc.hadoopConfiguration();
        if (o.fromAnnotations() != null) {
            Path dir = new Path(o.fromAnnotations());
            FileSystem afs = dir.getFileSystem(conf);
            dir = afs.makeQualified(dir);
            if (!afs.exists(dir)) throw new IOException("annotations " + dir + " do not exist");
            AnnotationsTable.Meta meta = AnnotationsTable.meta(afs, dir);
            filter.check(session(sc), AnnotationsTable.read(session(sc), dir).schema());
            return new Annotating(filter, afs, dir, null, meta);
        }
        filter.check(session(sc), AnnotationPass.tableSchema(scoreColumns(o)));
        if (o.annotations() == null) return new Annotating(filter, null, null, null, null);
        Path dir = new Path(o.annotations());
        FileSystem afs = dir.getFileSystem(conf);
        dir = afs.makeQualified(dir);
        if (afs.exists(dir)) throw new IOException("annotations " + dir + " already exist");
        if (dir.getParent() != null) afs.mkdirs(dir.getParent());
        return new Annotating(filter, afs, dir, new Path(dir.getParent(), "." + dir.getName() + ".tmp-" + UUID.randomUUID()), null);
    }

    /** The inputs an annotations table was computed from (what {@code --from-annotations} reads by default). */
    public static List<String> annotatedInputs(String annotations, Configuration conf) throws IOException {
        Path dir = new Path(annotations);
        return AnnotationsTable.meta(dir.getFileSystem(conf), dir).inputs();
    }

    private static SparkSession session(JavaSparkContext sc) {
        return SparkSession.builder().sparkContext(sc.sc()).getOrCreate();
    }

    private static List<String> scoreColumns(PrepareOptions o) {
        return o.scorers().stream().map(DocumentScorer::column).toList();
    }

    /** A task's IOException (bad input, unreadable file) reaches the driver wrapped by Spark; surface its message. */
    private static IOException taskFailure(org.apache.spark.SparkException e) {
        for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
            if (c instanceof IOException io) return new IOException(io.getMessage(), e);
        }
        return new IOException("preparation job failed: " + e.getMessage(), e);
    }

    private static Map<String, Object> build(JavaSparkContext sc, PrepareOptions o, FileSystem fs, Path tmp,
                                             Annotating annotating, Consumer<String> log) throws IOException {
        Configuration conf = sc.hadoopConfiguration();
        fs.mkdirs(tmp);
        Broadcast<byte[]> hconf = sc.broadcast(HadoopConf.toBytes(conf));
        AnnotationsTable.Meta meta = annotating.meta();
        boolean keepRemoved = annotating.tableTmp() != null; // the table has a row for every document read

        List<DocumentInput.InputFile> files = DocumentInput.expand(o.inputs(), conf);
        int partitions = o.partitions() > 0 ? o.partitions() : defaultPartitions(sc, files);
        // Task files are read before the corpus, so a bad one fails the job before any work.
        Decontamination.Tasks tasks = o.decontaminate().isEmpty() ? null
                : Decontamination.load(o.decontaminate(), o.decontaminationNgram(), conf);
        long inputBytes = files.stream().mapToLong(DocumentInput.InputFile::bytes).sum();
        log.accept(String.format("reading %d input files (%.1f MB) from %d sources", files.size(), inputBytes / 1e6,
                files.stream().map(DocumentInput.InputFile::source).distinct().count()));

        long t0 = System.nanoTime();
        Consumer<String> timed = msg -> log.accept(String.format("[%6.1f s] %s", (System.nanoTime() - t0) / 1e9, msg));
        PrepareReport report = new PrepareReport();
        // Reader and cleanup: each document's UTF-8 size as read (after decompression, for throughput) and cleaned.
        DocumentInput.Columns columns = meta != null ? new DocumentInput.Columns(meta.textColumn(), meta.sourceColumn())
                : new DocumentInput.Columns(o.textColumn(), o.sourceColumn());
        // With the tokenizer known before the job (given, not trained in it), each stage reports the tokens it let
        // through. They are counted as documents leave the job (StageTokens), or, building from an annotations table
        // (whose join drops the documents it does not match), as they are read.
        Tokenizer given = o.stageTokens() ? o.tokenizer() : null;
        Broadcast<byte[]> countingModel = given == null ? null : sc.broadcast(given.toModelBytes());
        Broadcast<byte[]> readingModel = meta != null ? countingModel : null;
        Broadcast<byte[]> leavingModel = meta != null ? null : countingModel;
        report.countsTokens(given != null);
        JavaRDD<Tuple2<Long, Doc>> read = DocumentInput.read(sc, files, columns, partitions, hconf)
                .mapPartitions(it -> cleaned(it, readingModel == null ? null : readingModel.value()))
                .persist(StorageLevel.MEMORY_AND_DISK_SER());
        // One pass counts both: per source, documents, bytes and tokens as read, then those not empty after cleanup.
        Map<String, long[]> readAndCleaned = new java.util.TreeMap<>(read
                .mapToPair(t -> new Tuple2<>(t._2().source(), t._2().text().isEmpty() ? new long[] {1, t._1(), 0, 0, 0, 0}
                        : new long[] {1, t._1(), Math.max(0, t._2().tokens()), 1, t._2().bytes(), Math.max(0, t._2().tokens())}))
                .reduceByKey(SourceCounts::sum).collectAsMap());
        SourceCounts asRead = new SourceCounts(new java.util.TreeMap<>());
        SourceCounts cleaned = new SourceCounts(new java.util.TreeMap<>());
        readAndCleaned.forEach((source, c) -> {
            asRead.bySource().put(source, Arrays.copyOfRange(c, 0, 3));
            cleaned.bySource().put(source, Arrays.copyOfRange(c, 3, 6));
        });
        report.stage("read", asRead);
        long textBytes = asRead.bySource().values().stream().mapToLong(v -> v[1]).sum();
        long inputDocs = asRead.documents();
        // Not cached again: read stays cached until the steps below have cached their output (or, with none, until
        // the filters' counting pass has run). Keeping removed documents, every step passes on every document, the
        // removed ones tagged with the step that removed them. Counting tokens as documents leave, each step tags
        // those it removes, for its counting pass, and the next step takes the others.
        JavaRDD<Doc> docs = keepRemoved ? read.map(t -> t._2().text().isEmpty() ? t._2().removedBy("cleanup") : t._2())
                : read.map(Tuple2::_2).filter(d -> !d.text().isEmpty());
        boolean markRemoved = keepRemoved || leavingModel != null;
        JavaRDD<?> cached = null; // what the steps so far cached and the next ones read
        report.stage("cleanup", cleaned);
        long nonEmpty = report.stageDocuments("cleanup");
        timed.accept(String.format("%d documents read, %d empty after cleanup", inputDocs, inputDocs - nonEmpty));

        if (meta != null) {
            return fromAnnotations(sc, o, fs, tmp, annotating, docs, read, report, partitions, files, inputBytes,
                    inputDocs, nonEmpty, textBytes, hconf, timed, log);
        }
        boolean keyOrdered = false; // whether docs are in output order (a deduplication's), so need no sort to write
        if (o.exactDedup()) {
            JavaRDD<Doc> out = (keepRemoved ? ExactDedup.tagged(docs, partitions) : markRemoved
                    ? ExactDedup.marked(docs, partitions) : ExactDedup.apply(docs, partitions))
                    .persist(StorageLevel.MEMORY_AND_DISK_SER());
            count(report, "exact_dedup", out, leavingModel);
            cached = out;
            docs = goingOn(out, keepRemoved);
            keyOrdered = true;
            timed.accept(String.format("exact dedup: %d duplicates removed", report.removed("exact_dedup")));
        }
        if (o.nearDedup() != null) {
            JavaRDD<Doc> out = keepRemoved ? NearDedup.tagged(docs, o.nearDedup(), partitions, o.exactDedup())
                    : NearDedup.apply(docs, o.nearDedup(), partitions, o.exactDedup(), markRemoved);
            // After exact dedup, near dedup's output is exact dedup's cached output less the ids it removes (or
            // tagged with their groups): cheap to compute again, so not cached a second time. Without it, near dedup
            // deduplicates exactly first, which is not worth doing again.
            if (!o.exactDedup()) {
                out = out.persist(StorageLevel.MEMORY_AND_DISK_SER());
                cached = out;
            }
            count(report, "near_dedup", out, leavingModel);
            docs = goingOn(out, keepRemoved);
            keyOrdered = true;
            timed.accept(String.format("near dedup (%d-word shingles, %d bands x %d rows, Jaccard >= %.2f): %d removed",
                    o.nearDedup().shingleWords(), o.nearDedup().bands(), o.nearDedup().rows(), o.nearDedup().threshold(),
                    report.removed("near_dedup")));
        }
        Map<String, Object> decontamination = new LinkedHashMap<>();
        if (tasks != null) {
            Decontamination.Result r = Decontamination.apply(sc, docs, tasks); // its flagged documents cached
            JavaRDD<Doc> out = markRemoved
                    ? r.flagged().map(t -> t._2() == 0 ? t._1() : t._1().removedBy("decontamination")) : r.kept();
            count(report, "decontamination", out, leavingModel);
            if (cached != null) cached.unpersist(false);
            cached = r.flagged();
            docs = goingOn(out, keepRemoved);
            for (int t = 0; t < tasks.files().size(); t++) {
                decontamination.put(tasks.files().get(t), PrepareReport.fields("items", tasks.items()[t],
                        "items_shorter_than_ngram", tasks.itemsTooShort()[t], "documents_removed", r.removedPerTask()[t]));
            }
            timed.accept(String.format("decontamination (%d-grams of %d task files): %d documents removed %s",
                    tasks.n(), tasks.files().size(), r.removed(), decontamination));
        }
        long uniqueDocs = report.stageDocuments(report.stageNames().getLast()); // counted by the last step
        JavaRDD<?> upstream = cached == null ? read : cached; // what judged is computed from, released once it is cached
        if (cached != null) read.unpersist(false);

        long[] frequent = frequentLines(docs.filter(d -> d.removedBy() == null), o.lineDupThreshold(), partitions);
        timed.accept(String.format("%d distinct lines occur more than %d times", frequent.length, o.lineDupThreshold()));
        Broadcast<long[]> frequentB = sc.broadcast(frequent);
        QualityFilter quality = o.quality();
        Map<String, Object> stats = new LinkedHashMap<>();
        JavaRDD<Judged> judged;
        Runnable release = () -> upstream.unpersist(false); // once the judged documents are cached
        CompletableFuture<Void> drawing = null;
        List<String> pictures = List.of();
        if (o.signals()) {
            AnnotationPass.Outcome a = AnnotationPass.run(session(sc), docs, keyOrdered, frequentB, o.scorers(),
                    annotating.filter(), hconf, partitions, leavingModel);
            judged = a.judged();
            keyOrdered = true;
            report.filter(annotating.filter(), a.failingBySource());
            timed.accept(String.format("%d documents annotated with %d heuristic signals%s", a.annotated(),
                    HeuristicSignals.SIGNALS.size(), o.scorers().isEmpty() ? "" : " and " + scoreColumns(o)));
            stats.put("documents_annotated", a.annotated());
            if (a.tertiles() != null) stats.put("perplexity_tertiles", List.of(a.tertiles()[0], a.tertiles()[1]));
            if (keepRemoved) {
                AnnotationsTable.write(a.table(), annotating.fs(), annotating.tableTmp(), o, frequent, scoreColumns(o));
                stats.put("annotations", annotating.table().toString());
                timed.accept("annotations written to " + annotating.table());
            }
            // Drawn on the driver while the executors split, tokenise and write; awaited before the output is published.
            List<String> numeric = AnnotationPass.numericColumns(scoreColumns(o));
            drawing = CompletableFuture.runAsync(() -> {
                try {
                    SignalHistograms.write(a.histograms(), numeric, annotating.filter().thresholds(), fs, tmp);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
            pictures = SignalHistograms.files(numeric);
            stats.put("histograms", pictures);
            release = () -> {
                upstream.unpersist(false);
                a.release();
            };
        } else {
            judged = docs.mapPartitions(it -> {
                Tokenizer counter = StageTokens.counter(leavingModel == null ? null : leavingModel.value());
                return new PullIterator<Judged>() {
                    @Override
                    protected Judged pull() {
                        if (it.hasNext()) return judge(it.next(), frequentB.value(), quality, counter);
                        end();
                        return null;
                    }
                };
            }, true).persist(StorageLevel.MEMORY_AND_DISK_SER());
            stats.put("documents_annotated", 0L);
        }
        try {
            Map<String, Object> result = finish(sc, o, fs, tmp, judged, keyOrdered, report, stats, partitions, files, inputBytes,
                    inputDocs, nonEmpty, textBytes, uniqueDocs, frequent.length, decontamination, tasks, hconf, conf,
                    timed, log, release, leavingModel);
            if (drawing != null) {
                drawing.join();
                timed.accept(String.format("%d histograms written to %s/", pictures.size(), SignalHistograms.DIR));
            }
            return result;
        } catch (CompletionException e) {
            throw e.getCause() instanceof UncheckedIOException io ? io.getCause()
                    : new IOException("drawing the histograms failed: " + e.getCause(), e.getCause());
        } finally {
            if (drawing != null) drawing.handle((v, t) -> null).join(); // nothing is written into tmp once this returns
        }
    }

    /**
     * The documents that went on from the filter: split, tokenised, written; the manifest and report.
     * {@code judged} is cached; {@code keyOrdered} says whether it is in output order ({@link ExactDedup#apply}'s
     * partitions, sorted), else it is sorted here; {@code release} drops what it was computed from, once it is
     * counted.
     */
    private static Map<String, Object> finish(JavaSparkContext sc, PrepareOptions o, FileSystem fs, Path tmp,
                                              JavaRDD<Judged> judged, boolean keyOrdered, PrepareReport report,
                                              Map<String, Object> stats, int partitions,
                                              List<DocumentInput.InputFile> files, long inputBytes, long inputDocs,
                                              long nonEmpty, long textBytes, long uniqueDocs, int frequentLines,
                                              Map<String, Object> decontamination, Decontamination.Tasks tasks,
                                              Broadcast<byte[]> hconf, Configuration conf, Consumer<String> timed,
                                              Consumer<String> log, Runnable release, Broadcast<byte[]> leavingModel)
            throws IOException {
        QualityFilter quality = o.quality();
        double fraction = o.valFraction();
        FilterTally tally = judged.mapPartitions(it -> List.of(FilterTally.of(it, fraction,
                        StageTokens.counter(leavingModel == null ? null : leavingModel.value()))).iterator())
                .reduce(FilterTally::plus);
        Counts counts = tally.counts();
        report.stage("line_filter", new SourceCounts(tally.notEmptied()));
        report.stage("quality_filter", new SourceCounts(tally.kept()));
        if (leavingModel != null) {
            report.removedTokens("line_filter", tally.emptiedTokens());
            report.removedTokens("quality_filter", tally.rejectedTokens());
        }
        release.run();

        double cut = tally.valCut(fraction);
        JavaRDD<Judged> kept = judged.filter(Judged::kept);
        JavaRDD<Judged> train = kept.filter(j -> !(j.doc().draw() < cut));
        if (counts.kept == 0) {
            throw new IOException("no documents left after deduplication and filters (" + inputDocs + " read, "
                    + counts.tooShort + " too short, " + counts.tooSymbolic + " too symbolic)");
        }

        timed.accept(String.format("%d documents kept, %d too short, %d too symbolic, %d removed by --where",
                counts.kept, counts.tooShort, counts.tooSymbolic, counts.filtered));
        Tokenizer tokenizer = tokenizer(o, train, timed);
        int vocab = tokenizer.vocabSize();
        int width = TokenWidth.forVocabulary(vocab).bytes();
        Broadcast<byte[]> model = sc.broadcast(tokenizer.toModelBytes());
        int eos = tokenizer.eosId();
        if (eos < 0) throw new IOException("tokenizer " + tokenizer.sourceName() + " has no EOS piece");

        // Both splits in one pass over the documents in output order, each partition writing a part file per split.
        JavaRDD<Judged> ordered = keyOrdered ? kept : kept.mapToPair(j -> new Tuple2<>(j.doc().key(), j))
                .repartitionAndSortWithinPartitions(new KeyRanges(partitions))
                .values();
        List<String> splitNames = List.of("train", "val");
        int sourceCount = report.sources().size();
        boolean bySource = o.sourceShards() != null ? o.sourceShards() : sourceCount <= PrepareOptions.AUTO_SOURCE_SHARDS_LIMIT;
        if (o.sourceShards() == null && !bySource) {
            timed.accept(String.format("%d sources: shards mix them (more than %d; --source-shards keeps them apart)",
                    sourceCount, PrepareOptions.AUTO_SOURCE_SHARDS_LIMIT));
        }
        String partsDir = new Path(tmp, "_parts").toString();
        List<ShardAssembly.Part> parts = new ArrayList<>(ordered
                .mapPartitionsWithIndex((i, it) -> ShardAssembly.writeParts(i, tokenize(it, model.value(), eos, cut),
                        splitNames, partsDir, hconf.value(), width, bySource), true)
                .collect());
        parts.sort(Comparator.comparingInt(ShardAssembly.Part::index));
        Map<String, Manifest.Split> splits = new LinkedHashMap<>();
        Map<String, Long> keptTokens = new java.util.TreeMap<>(); // their text as cleaned, per source
        for (String split : splitNames) {
            List<ShardAssembly.Part> ofSplit = parts.stream().filter(p -> p.split().equals(split)).toList();
            // Shards of each source in turn (sources in name order), numbered on through the split.
            Map<String, List<ShardAssembly.Part>> groups = new java.util.TreeMap<>(Comparator.nullsFirst(Comparator.naturalOrder()));
            for (ShardAssembly.Part p : ofSplit) groups.computeIfAbsent(p.source(), k -> new ArrayList<>()).add(p);
            List<ShardAssembly.ShardPlan> plans = new ArrayList<>();
            groups.forEach((source, group) -> plans.addAll(ShardAssembly.plan(split, source, plans.size(), group,
                    o.shardTokens(), width)));
            String dir = tmp.toString();
            List<ShardInfo> shards = plans.isEmpty() ? List.of() : sc.parallelize(plans, plans.size())
                    .map(p -> ShardAssembly.writeShard(p, dir, hconf.value(), vocab, Manifest.DEFAULT_BLOCK_BYTES))
                    .collect();
            long total = ofSplit.stream().mapToLong(ShardAssembly.Part::tokens).sum();
            long docCount = ofSplit.stream().mapToLong(ShardAssembly.Part::documents).sum();
            Map<String, Long> bySourceTokens = new java.util.TreeMap<>();
            Map<String, Long> bySourceDocuments = new java.util.TreeMap<>();
            for (ShardAssembly.Part p : ofSplit) {
                p.tokensBySource().forEach((k, v) -> bySourceTokens.merge(k, v, Long::sum));
                p.documentsBySource().forEach((k, v) -> bySourceDocuments.merge(k, v, Long::sum));
            }
            report.tokens(split, bySourceTokens);
            for (ShardAssembly.Part p : ofSplit) p.cleanedTokensBySource().forEach((k, v) -> keptTokens.merge(k, v, Long::sum));
            Map<String, Manifest.SourceTotals> totals = new java.util.TreeMap<>();
            bySourceTokens.forEach((k, v) -> totals.put(k, new Manifest.SourceTotals(bySourceDocuments.get(k), v)));
            splits.put(split, new Manifest.Split(total, docCount, shards, totals));
            timed.accept(String.format("%s: %d documents, %d tokens, %d shards%s", split, docCount, total, shards.size(),
                    bySource ? " (by source)" : ""));
        }
        judged.unpersist(false);
        fs.delete(new Path(tmp, "_parts"), true);
        if (leavingModel != null) report.keptTokens(keptTokens);

        Map<String, Object> extra = stats;
        stats = new LinkedHashMap<>();
        stats.put("normalization", NORMALIZATION);
        stats.put("tokenizer", o.vocabSize() > 0 ? "trained (BPE, vocab " + o.vocabSize() + ")" : "given");
        stats.put("val_fraction", o.valFraction());
        stats.put("shard_tokens", o.shardTokens());
        stats.put("line_dup_threshold", o.lineDupThreshold());
        stats.put("min_chars", quality.minChars());
        stats.put("max_symbol_ratio", quality.maxSymbolRatio());
        stats.put("exact_dedup", o.exactDedup() ? ExactDedup.RULE : "off");
        stats.put("near_dedup", o.nearDedup() == null ? "off" : PrepareReport.fields("shingle_words", o.nearDedup().shingleWords(),
                "bands", o.nearDedup().bands(), "rows", o.nearDedup().rows(), "threshold", o.nearDedup().threshold()));
        stats.put("input_files", files.size());
        stats.put("input_bytes", inputBytes);
        stats.put("input_text_bytes", textBytes);
        stats.put("input_documents", inputDocs);
        stats.put("documents_empty_after_cleanup", inputDocs - nonEmpty);
        stats.put("documents_duplicate", report.removed("exact_dedup"));
        stats.put("exact_duplicates", report.removed("exact_dedup"));
        stats.put("near_duplicates", report.removed("near_dedup"));
        stats.put("decontaminated", report.removed("decontamination"));
        if (tasks != null) stats.put("decontamination", PrepareReport.fields("ngram_words", tasks.n(), "task_files", decontamination));
        stats.put("documents_before_filters", uniqueDocs);
        stats.put("frequent_lines_distinct", frequentLines);
        stats.putAll(counts.toMap());
        stats.put("train_documents", splits.get("train").documents());
        stats.put("train_tokens", splits.get("train").tokens());
        stats.put("val_documents", splits.get("val").documents());
        stats.put("val_tokens", splits.get("val").tokens());
        stats.put("stages", report.stageNames());
        stats.put("sources", report.bySource());
        stats.putAll(extra);
        if (report.hasFilter()) {
            stats.put("filter_expression", report.filterExpression());
            stats.put("filter_clauses", report.filterClauses());
        }

        report.write(fs, tmp, stats);
        log.accept(report.table());
        Manifest.TokenizerFile tok = DatasetWriter.writeTokenizer(fs, tmp, tokenizer.toModelBytes());
        Manifest manifest = new Manifest(Manifest.FORMAT, Manifest.FORMAT_VERSION, vocab, tokenizer.bosId(), eos, width,
                tok, Manifest.DEFAULT_BLOCK_BYTES,
                Manifest.chunkBytesFor(Manifest.DEFAULT_BLOCK_BYTES), splits, stats);
        DatasetWriter.writeManifest(fs, tmp, manifest);
        return stats;
    }

    /**
     * Spark's default parallelism (the task slots), but at least one partition per 64 MB of input, so no task holds
     * too much; rounded up to a whole number of waves over the slots, since equal tasks one more than the slots
     * (3 on 2 cores) take two waves, the second with all slots but one idle.
     */
    static int defaultPartitions(int slots, long inputBytes) {
        long byBytes = Math.min(100_000, (inputBytes + PARTITION_BYTES - 1) / PARTITION_BYTES);
        long waves = (Math.max(slots, byBytes) + slots - 1) / slots;
        return (int) (waves * slots);
    }

    private static int defaultPartitions(JavaSparkContext sc, List<DocumentInput.InputFile> files) {
        return defaultPartitions(sc.defaultParallelism(), files.stream().mapToLong(DocumentInput.InputFile::bytes).sum());
    }

    /**
     * Records what a filtering step let through per source (the documents no step removed; its output may hold
     * removed ones too, tagged) and, with {@code model}, the tokens of those it removed ({@link StageTokens}).
     */
    private static void count(PrepareReport report, String name, JavaRDD<Doc> out, Broadcast<byte[]> model) {
        SourceCounts.OfStep counts = SourceCounts.ofStep(out, name, model);
        report.stage(name, counts.after());
        if (model != null) report.removedTokens(name, counts.removedTokens());
    }

    /** What the next step takes of a step's output: all of it when keeping removed documents, else those kept. */
    private static JavaRDD<Doc> goingOn(JavaRDD<Doc> out, boolean keepRemoved) {
        return keepRemoved ? out : out.filter(d -> d.removedBy() == null);
    }

    /**
     * Building from an annotations table: the documents read again are matched to the rows that reached the
     * annotating run's filter (by id, source and url; of exact copies the one that run kept), their frequent lines
     * removed with that run's line set, and the clauses evaluated over the stored columns. No signal is computed.
     */
    private static Map<String, Object> fromAnnotations(JavaSparkContext sc, PrepareOptions o, FileSystem fs, Path tmp,
                                                       Annotating annotating, JavaRDD<Doc> docs, JavaRDD<?> read,
                                                       PrepareReport report,
                                                       int partitions, List<DocumentInput.InputFile> files,
                                                       long inputBytes, long inputDocs, long nonEmpty, long textBytes,
                                                       Broadcast<byte[]> hconf, Consumer<String> timed,
                                                       Consumer<String> log) throws IOException {
        SparkSession spark = session(sc);
        AnnotationPass.Selection selection = AnnotationPass.select(AnnotationsTable.read(spark, annotating.table()),
                annotating.filter(), partitions);
        long[] frequent = AnnotationsTable.frequentLines(annotating.fs(), annotating.table());
        Broadcast<long[]> frequentB = sc.broadcast(frequent);
        JavaRDD<Tuple2<Doc, boolean[]>> matched = docs
                .mapToPair(d -> new Tuple2<>(AnnotationPass.rowKey(d.key(), d.source(), d.location()), d))
                .join(selection.clauses(), partitions)
                .values();
        if (annotating.meta().exactDedup()) {
            matched = matched.mapToPair(t -> new Tuple2<>(t._1().key(), t))
                    .reduceByKey((a, b) -> ExactDedup.KEEP_ORDER.compare(a._1(), b._1()) <= 0 ? a : b, partitions)
                    .values();
        }
        matched = matched.persist(StorageLevel.MEMORY_AND_DISK_SER());
        report.stage("annotations", SourceCounts.of(matched.map(Tuple2::_1)));
        timed.accept(String.format("%d documents matched to rows of %s that reached its filter", report.stageDocuments("annotations"),
                annotating.table()));
        JavaRDD<Judged> judged = matched.map(t -> {
            LineFilter.Result r = LineFilter.apply(t._1().text(), frequentB.value());
            boolean emptied = r.text().isEmpty();
            return new Judged(t._1().withText(r.text()), emptied ? QualityFilter.Verdict.TOO_SHORT
                    : AnnotationPass.verdict(t._2()), emptied, r.lines(), r.removed());
        }).persist(StorageLevel.MEMORY_AND_DISK_SER());
        report.filter(annotating.filter(), selection.failingBySource());
        Map<String, Object> stats = new LinkedHashMap<>();
        stats.put("annotations_read", annotating.table().toString());
        stats.put("documents_annotated", 0L);
        Map<String, Object> result = finish(sc, o, fs, tmp, judged, false, report, stats, partitions, files, inputBytes,
                inputDocs, nonEmpty, textBytes, report.stageDocuments("annotations"), frequent.length,
                new LinkedHashMap<>(), null, hconf, sc.hadoopConfiguration(), timed, log, () -> read.unpersist(false), null);
        matched.unpersist(false);
        return result;
    }

    /** Hashes of normalised lines occurring more than {@code threshold} times, sorted (empty when off). */
    private static long[] frequentLines(JavaRDD<Doc> docs, int threshold, int partitions) {
        if (threshold <= 0) return new long[0];
        List<Long> hashes = docs
                .flatMapToPair(d -> {
                    List<Tuple2<Long, Long>> out = new ArrayList<>();
                    String text = d.text();
                    for (int start = 0, n = text.length(); start <= n; ) {
                        int end = text.indexOf('\n', start);
                        if (end < 0) end = n;
                        long h = LineHash.hash(text, start, end);
                        if (h != 0) out.add(new Tuple2<>(h, 1L));
                        start = end + 1;
                    }
                    return out.iterator();
                })
                .reduceByKey(Long::sum, partitions)
                .filter(t -> t._2() > threshold)
                .keys()
                .collect();
        long[] a = hashes.stream().mapToLong(Long::longValue).toArray();
        Arrays.sort(a);
        return a;
    }

    /** Frequent lines removed and the filters applied; {@code counter} (null: none) counts tokens the text would lose. */
    private static Judged judge(Doc d, long[] frequent, QualityFilter quality, Tokenizer counter) {
        LineFilter.Result r = LineFilter.apply(d.text(), frequent);
        d = StageTokens.beforeChange(d, r.text(), counter);
        if (r.text().isEmpty()) return new Judged(d.withText(""), QualityFilter.Verdict.TOO_SHORT, true, r.lines(), r.removed());
        return new Judged(d.withText(r.text()), quality.judge(r.text()), false, r.lines(), r.removed());
    }

    /**
     * Each document as read: its UTF-8 size, and the document cleaned, with its tokens counted when {@code model}
     * (a tokenizer's bytes) is given.
     */
    private static Iterator<Tuple2<Long, Doc>> cleaned(Iterator<Document> docs, byte[] model) {
        Tokenizer t = model == null ? null : Tokenizer.shared(model, "tokenizer.model");
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return docs.hasNext();
            }

            @Override
            public Tuple2<Long, Doc> next() {
                Document d = docs.next();
                Doc doc = Doc.of(new Document(d.source(), d.location(), TextCleaner.clean(d.text())));
                if (t != null && !doc.text().isEmpty()) doc = doc.withTokens(StageTokens.of(doc, t));
                return new Tuple2<>(Utf8Length.of(d.text()), doc);
            }
        };
    }

    /** A tokenizer file read once, before any work: a missing or bad one fails the job at once. */
    private static PrepareOptions withTokenizerRead(PrepareOptions o, Configuration conf) throws IOException {
        if (o.tokenizerFile() == null) return o;
        Path p = new Path(o.tokenizerFile());
        byte[] bytes;
        try (InputStream in = p.getFileSystem(conf).open(p)) {
            bytes = in.readAllBytes();
        } catch (java.io.FileNotFoundException e) {
            throw new IOException("tokenizer file " + p + " does not exist", e);
        }
        return o.tokenizerRead(Tokenizer.fromBytes(bytes, p.toString()));
    }

    private static Tokenizer tokenizer(PrepareOptions o, JavaRDD<Judged> train, Consumer<String> log)
            throws IOException {
        if (o.tokenizer() != null) return o.tokenizer();
        log.accept("training a BPE tokenizer with " + o.vocabSize() + " pieces");
        return BpeTrainer.train(train.map(j -> j.doc().text()), BpeTrainerOptions.llama(o.vocabSize()));
    }

    /** Each document's tokens with EOS after them, named by the split it goes to (val when its draw is below the cut). */
    private static Iterator<Tuple2<String, ShardAssembly.Tokens>> tokenize(Iterator<Judged> docs, byte[] model, int eos,
                                                                          double valCut) {
        Tokenizer t = Tokenizer.shared(model, "tokenizer.model");
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return docs.hasNext();
            }

            @Override
            public Tuple2<String, ShardAssembly.Tokens> next() {
                Doc d = docs.next().doc();
                byte[] utf8 = d.utf8(); // the same ids as its text's: a cleaned text holds no unpaired surrogate
                int[] ids = t.encodeUtf8(utf8, 0, utf8.length);
                int[] withEos = Arrays.copyOf(ids, ids.length + 1);
                withEos[ids.length] = eos;
                int cleaned = d.tokens() == StageTokens.UNCOUNTED ? withEos.length : d.tokens(); // the text unchanged
                return new Tuple2<>(d.draw() < valCut ? "val" : "train", new ShardAssembly.Tokens(d.source(), withEos, cleaned));
            }
        };
    }
}

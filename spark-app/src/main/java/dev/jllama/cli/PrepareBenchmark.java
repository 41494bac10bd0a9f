package dev.jllama.cli;

import dev.jllama.data.prepare.PrepareJob;
import dev.jllama.data.prepare.PrepareKryo;
import dev.jllama.data.prepare.PrepareOptions;
import dev.jllama.data.prepare.PrepareResult;
import dev.jllama.data.prepare.SyntheticCorpus;
import dev.jllama.data.tokenizer.Tokenizer;
import dev.jllama.driver.SparkSecurity;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * {@code llama bench --what prepare}: the whole preparation job, both deduplications on, on generated corpora of
 * growing size ({@link SyntheticCorpus}), in one Spark application after an untimed warm-up run. MB are 10^6 bytes
 * of document text (the JSON around it not counted). The driver's heap is sampled every 20 ms during each run;
 * with a local-cluster master the executors are other JVMs, so that is what the driver itself holds. The
 * tokenizer-only rate is one thread encoding the same kind of text, for the per-core comparison.
 */
final class PrepareBenchmark {
    private PrepareBenchmark() {}

    private static final long WARM_UP_MB = 20;

    /**
     * Runs the job on corpora of {@code sizes} MB, in that order, on {@code master}, with files under {@code work};
     * {@code stageTokens}: every stage's tokens counted (the job's default).
     */
    static Map<String, Object> run(List<Integer> sizes, String master, String work, boolean stageTokens, PrintStream out)
            throws Exception {

        SparkConf conf = SparkSecurity.secure(PrepareKryo.configure(new SparkConf()).setAppName("jllama-bench-prepare").setMaster(master)
                .set("spark.ui.enabled", "false"));
        if (master.startsWith("local-cluster")) conf.set("spark.executor.extraClassPath", System.getProperty("java.class.path"));
        SyntheticCorpus corpus = SyntheticCorpus.fromBundledWords();
        Map<String, Object> result = new LinkedHashMap<>();
        List<Map<String, Object>> runs = new ArrayList<>();
        try (JavaSparkContext sc = new JavaSparkContext(conf)) {
            int cores = sc.defaultParallelism();
            FileSystem fs = new Path(work).getFileSystem(sc.hadoopConfiguration());
            Path root = fs.makeQualified(new Path(work));
            fs.delete(root, true);
            out.printf("prepare benchmark on %s (%d cores for tasks), driver max heap %d MB%n", sc.master(), cores,
                    Runtime.getRuntime().maxMemory() >> 20);
            once(sc, fs, corpus, root, WARM_UP_MB, stageTokens, out); // JIT, class loading, executor start: not timed
            for (long mb : sizes) {
                Map<String, Object> r = once(sc, fs, corpus, root, mb, stageTokens, out);
                runs.add(r);
                out.printf("%d MB corpus: %.2f MB/s (%.2f s per 100 MB), driver heap peak %d MB, after GC %d MB%n", mb,
                        r.get("mb_per_s"), 100 / (double) r.get("mb_per_s"), r.get("driver_heap_peak_mb"), r.get("driver_heap_after_mb"));
            }
            double tokenizer = tokenizerRate(corpus, fs, root, out);
            double first = (double) runs.getFirst().get("mb_per_s");
            double last = (double) runs.getLast().get("mb_per_s");
            double perCore = last / cores;
            result.put("runs", runs);
            result.put("time_per_mb_ratio_largest_vs_smallest", first / last);
            result.put("cores", cores);
            result.put("tokenizer_mb_per_s", tokenizer);
            result.put("mb_per_s_per_core", perCore);
            result.put("per_core_share_of_tokenizer", perCore / tokenizer);
            result.put("driver_max_heap_mb", Runtime.getRuntime().maxMemory() >> 20);
            out.printf("time per MB, %d MB vs %d MB: %.2fx; end to end %.2f MB/s per core = %.0f %% of the tokenizer's %.2f MB/s%n",
                    sizes.getLast(), sizes.getFirst(), first / last, perCore, 100 * perCore / tokenizer, tokenizer);
            fs.delete(root, true);
        }
        result.put("stage_tokens", stageTokens);
        result.put("what", "prepare");
        return result;
    }

    private static Map<String, Object> once(JavaSparkContext sc, FileSystem fs, SyntheticCorpus corpus, Path root, long mb,
                                            boolean stageTokens, PrintStream out) throws Exception {
        Path in = new Path(root, "corpus-" + mb);
        Path dataset = new Path(root, "dataset-" + mb);
        long bytes = corpus.write(fs, in, mb * 1_000_000L, mb);
        PrepareOptions o = PrepareOptions.withTokenizer(List.of(in.toString()), dataset.toString(), Tokenizer.bundled())
                .columns(PrepareOptions.DEFAULT_TEXT_COLUMN, "source").stageTokens(stageTokens);
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        System.gc();
        AtomicLong peak = new AtomicLong();
        AtomicBoolean running = new AtomicBoolean(true);
        Thread sampler = Thread.ofPlatform().daemon().start(() -> {
            while (running.get()) {
                peak.accumulateAndGet(memory.getHeapMemoryUsage().getUsed(), Math::max);
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        PrepareResult r;
        try {
            r = PrepareJob.run(sc, o, line -> out.println("  " + line));
        } finally {
            running.set(false);
            sampler.join();
        }
        System.gc();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("corpus_mb", mb);
        m.put("input_bytes", bytes);
        m.put("text_mb", r.inputBytes() / 1e6);
        m.put("seconds", r.seconds());
        m.put("mb_per_s", r.megabytesPerSecond());
        m.put("exact_duplicates", r.stats().get("exact_duplicates"));
        m.put("near_duplicates", r.stats().get("near_duplicates"));
        m.put("documents", r.stats().get("input_documents"));
        m.put("driver_heap_peak_mb", peak.get() >> 20);
        m.put("driver_heap_after_mb", memory.getHeapMemoryUsage().getUsed() >> 20);
        fs.delete(in, true);
        fs.delete(dataset, true);
        return m;
    }

    /**
     * The cost of annotating: the job on one generated corpus of {@code mb} MB without and with
     * {@code --annotations} (every heuristic signal, the Parquet table, the histograms), alternately for
     * {@code rounds} rounds after an untimed run of both, in one Spark application; the best time of each mode, their
     * ratio, and each round's ratio (the spread shows the machine's noise). The goal: annotating costs at
     * most 1.5x the plain job.
     */
    static Map<String, Object> annotate(int mb, int rounds, String master, String work, boolean stageTokens, PrintStream out)
            throws Exception {
        SparkConf conf = SparkSecurity.secure(PrepareKryo.configure(new SparkConf()).setAppName("jllama-bench-annotate").setMaster(master)
                .set("spark.ui.enabled", "false"));
        if (master.startsWith("local-cluster")) conf.set("spark.executor.extraClassPath", System.getProperty("java.class.path"));
        SyntheticCorpus corpus = SyntheticCorpus.fromBundledWords();
        Map<String, Object> result = new LinkedHashMap<>();
        try (JavaSparkContext sc = new JavaSparkContext(conf)) {
            FileSystem fs = new Path(work).getFileSystem(sc.hadoopConfiguration());
            Path root = fs.makeQualified(new Path(work));
            fs.delete(root, true);
            Path in = new Path(root, "corpus-" + mb);
            long bytes = corpus.write(fs, in, mb * 1_000_000L, mb);
            out.printf("annotation benchmark on %s: %d MB corpus (%d bytes of JSON lines)%s%n", sc.master(), mb, bytes,
                    stageTokens ? "" : ", --no-stage-tokens");
            double[] best = {Double.MAX_VALUE, Double.MAX_VALUE};
            List<Double> roundRatios = new ArrayList<>();
            long documents = 0;
            for (int round = 0; round <= rounds; round++) { // round 0 warms up both and is not counted
                double plainSeconds = 0;
                for (int annotated = 0; annotated < 2; annotated++) {
                    Path dataset = new Path(root, "dataset");
                    Path table = new Path(root, "annotations");
                    PrepareOptions o = PrepareOptions.withTokenizer(List.of(in.toString()), dataset.toString(), Tokenizer.bundled())
                            .columns(PrepareOptions.DEFAULT_TEXT_COLUMN, "source").stageTokens(stageTokens)
                            .annotations(annotated == 1 ? table.toString() : null);
                    PrepareResult r = PrepareJob.run(sc, o, line -> {});
                    fs.delete(dataset, true);
                    fs.delete(table, true);
                    out.printf("  %s%s: %.2f s%n", annotated == 1 ? "with annotations" : "plain", round == 0 ? " (warm-up)" : "",
                            r.seconds());
                    if (round > 0) best[annotated] = Math.min(best[annotated], r.seconds());
                    if (annotated == 0) plainSeconds = r.seconds();
                    if (annotated == 1) documents = ((Number) r.stats().get("documents_annotated")).longValue();
                    if (annotated == 1 && round > 0) roundRatios.add(r.seconds() / plainSeconds);
                }
            }
            fs.delete(root, true);
            double ratio = best[1] / best[0];
            out.printf("plain %.2f s, with annotations (%d documents, %d heuristic signals) %.2f s: %.2fx (goal <= 1.5x);"
                    + " per round %s%n", best[0], documents, dev.jllama.data.prepare.HeuristicSignals.SIGNALS.size(), best[1],
                    ratio, roundRatios.stream().map(x -> String.format("%.2fx", x)).toList());
            result.put("corpus_mb", mb);
            result.put("documents_annotated", documents);
            result.put("plain_seconds", best[0]);
            result.put("annotated_seconds", best[1]);
            result.put("annotation_cost_ratio", ratio);
            result.put("round_ratios", roundRatios);
        }
        result.put("stage_tokens", stageTokens);
        result.put("what", "annotate");
        return result;
    }

    /**
     * One thread encoding 20 MB of generated document text, after an untimed pass over it: the best of three timed
     * passes, so that a pass slowed by the machine's other load does not flatter the job's share of it.
     */
    private static double tokenizerRate(SyntheticCorpus corpus, FileSystem fs, Path root, PrintStream out) throws Exception {
        Path in = new Path(root, "tokenizer-sample");
        corpus.write(fs, in, 20_000_000L, 1);
        List<String> texts = new ArrayList<>();
        long bytes = 0;
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        for (var status : fs.listStatus(in)) {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(fs.open(status.getPath()), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    String text = json.readTree(line).get("text").asText();
                    texts.add(text);
                    bytes += text.getBytes(StandardCharsets.UTF_8).length;
                }
            }
        }
        Tokenizer t = Tokenizer.bundled();
        for (String s : texts) t.encode(s);
        double rate = 0;
        for (int pass = 0; pass < 3; pass++) {
            long start = System.nanoTime();
            for (String s : texts) t.encode(s);
            rate = Math.max(rate, bytes / 1e6 / ((System.nanoTime() - start) / 1e9));
        }
        out.printf("tokenizer alone, one thread, same kind of text: %.2f MB/s%n", rate);
        return rate;
    }
}

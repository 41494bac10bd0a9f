package dev.jllama.scoring;

import dev.jllama.data.prepare.DocumentScorer;
import dev.jllama.data.tokenizer.Tokenizer;
import dev.jllama.model.LlamaModel;
import dev.jllama.model.backend.Backend;
import dev.jllama.model.backend.Backends;
import dev.jllama.model.checkpoint.CheckpointStore;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.TaskContext;

/**
 * {@code perplexity} (CCNet's signal, with a jllama checkpoint instead of KenLM): exp of the mean token loss over
 * the document's {@link DocumentWindows}, scored on the executor's CPU backend. Windows of a batch of documents are
 * sorted by length and run through the model {@code batchTokens} tokens at a time, each forward pass as wide as the
 * narrowest of L, L/2, L/4, ... that holds its longest window, so short documents cost little padding.
 */
final class PerplexityScorer implements DocumentScorer {
    static final String COLUMN = "perplexity";

    private final String checkpoint;
    private final int windowTokens;
    private final int batchTokens;
    private final int threads;

    /**
     * @param checkpoint   a resolved checkpoint directory
     * @param windowTokens L, the targets per window
     * @param batchTokens  input tokens per forward pass (rounded down to whole windows, at least one)
     * @param threads      CPU threads; 0 for the Spark task's cores (all cores outside a task)
     */
    PerplexityScorer(String checkpoint, int windowTokens, int batchTokens, int threads) {
        this.checkpoint = checkpoint;
        this.windowTokens = windowTokens;
        this.batchTokens = Math.max(1, batchTokens / windowTokens) * windowTokens;
        this.threads = threads;
    }

    @Override
    public String column() {
        return COLUMN;
    }

    @Override
    public Scoring open(Configuration conf) throws IOException {
        var state = CheckpointStore.readState(checkpoint, conf);
        byte[] tokenizerBytes = CheckpointStore.readTokenizer(checkpoint, conf).orElseThrow(() -> new IOException(
                "checkpoint " + checkpoint + " has no " + CheckpointStore.TOKENIZER_FILE));
        Tokenizer tokenizer = Tokenizer.fromBytes(tokenizerBytes, checkpoint + "/" + CheckpointStore.TOKENIZER_FILE);
        Backend backend = Backends.create("cpu", -1, threads > 0 ? threads : taskCores());
        LlamaModel model;
        try {
            model = new LlamaModel(state.config(), backend);
            CheckpointStore.loadWeights(checkpoint, conf, model);
        } catch (IOException | RuntimeException e) {
            backend.close();
            throw e;
        }
        return new Scoring() {
            @Override
            public double[] score(List<String> texts) {
                return perplexities(model, tokenizer, texts);
            }

            @Override
            public void close() {
                model.close();
                backend.close();
            }
        };
    }

    private static int taskCores() {
        TaskContext task = TaskContext.get();
        return task != null ? task.cpus() : Runtime.getRuntime().availableProcessors();
    }

    /** One window of one document. */
    private record Window(int document, int[] tokens) {}

    double[] perplexities(LlamaModel model, Tokenizer tokenizer, List<String> texts) {
        List<Window> windows = new ArrayList<>();
        for (int d = 0; d < texts.size(); d++) {
            int[] ids = tokenizer.encode(texts.get(d));
            int[] document = new int[ids.length + 1];
            document[0] = tokenizer.eosId();
            System.arraycopy(ids, 0, document, 1, ids.length);
            for (int[] w : DocumentWindows.of(document, windowTokens)) windows.add(new Window(d, w));
        }
        windows.sort(Comparator.comparingInt(w -> w.tokens().length));
        double[] nats = new double[texts.size()];
        long[] targets = new long[texts.size()];
        for (int first = 0; first < windows.size(); ) {
            // The longest run of windows that fits batchTokens at the width of its widest (sorted: its last).
            int last = first + 1;
            while (last < windows.size() && (last + 1 - first) * width(inputs(windows.get(last))) <= batchTokens) last++;
            int width = width(inputs(windows.get(last - 1)));
            forward(model, windows.subList(first, last), batchTokens / width, width, nats, targets);
            first = last;
        }
        double[] perplexity = new double[texts.size()];
        for (int d = 0; d < perplexity.length; d++) perplexity[d] = targets[d] == 0 ? Double.NaN : Math.exp(nats[d] / targets[d]);
        return perplexity;
    }

    private static int inputs(Window w) {
        return w.tokens().length - 1;
    }

    /**
     * The narrowest of L, L/2, L/4, ... (while L divides evenly) that holds {@code inputs} tokens: every width divides
     * batchTokens, so every pass has the same rows and the model keeps its buffers.
     */
    private int width(int inputs) {
        int w = windowTokens;
        while (w % 2 == 0 && w / 2 >= inputs) w /= 2;
        return w;
    }

    private static void forward(LlamaModel model, List<Window> batch, int rows, int width, double[] nats, long[] targets) {
        int[] inputs = new int[rows * width], goals = new int[rows * width];
        java.util.Arrays.fill(goals, -1);
        for (int r = 0; r < batch.size(); r++) {
            int[] w = batch.get(r).tokens();
            System.arraycopy(w, 0, inputs, r * width, w.length - 1);
            System.arraycopy(w, 1, goals, r * width, w.length - 1);
        }
        float[] losses = new float[rows * width];
        model.tokenLosses(inputs, goals, rows, width, losses);
        for (int r = 0; r < batch.size(); r++) {
            Window w = batch.get(r);
            double sum = 0;
            for (int t = 0; t < w.tokens().length - 1; t++) sum += losses[r * width + t];
            nats[w.document()] += sum;
            targets[w.document()] += w.tokens().length - 1;
        }
    }
}

package dev.jllama.cli;

import dev.jllama.data.tokenizer.Tokenizer;
import dev.jllama.model.LlamaModel;
import dev.jllama.model.backend.Backend;
import dev.jllama.model.checkpoint.CheckpointStore;
import dev.jllama.model.checkpoint.TrainingState;
import java.io.IOException;
import org.apache.hadoop.conf.Configuration;

/** A checkpoint loaded for use: its model on a backend, its tokenizer, and what its state records. */
final class TrainedModel implements AutoCloseable {
    final String checkpoint;
    final TrainingState state;
    final Backend backend;
    final LlamaModel model;
    final Tokenizer tokenizer;
    final byte[] tokenizerBytes;

    private TrainedModel(String checkpoint, TrainingState state, Backend backend, LlamaModel model,
                         byte[] tokenizerBytes) {
        this.checkpoint = checkpoint;
        this.state = state;
        this.backend = backend;
        this.model = model;
        this.tokenizerBytes = tokenizerBytes;
        this.tokenizer = Tokenizer.fromBytes(tokenizerBytes, checkpoint + "/" + CheckpointStore.TOKENIZER_FILE);
    }

    /** {@code location}: a checkpoint, or a run or checkpoints directory (its newest complete checkpoint). */
    static TrainedModel load(String location, BackendOptions backendOptions, Configuration conf) throws IOException {
        String dir = CheckpointStore.resolve(location, conf);
        TrainingState state = CheckpointStore.readState(dir, conf);
        byte[] tokenizer = CheckpointStore.readTokenizer(dir, conf).orElseThrow(() -> new IOException(
                "checkpoint " + dir + " has no " + CheckpointStore.TOKENIZER_FILE + " to turn text into tokens"));
        Backend backend = backendOptions.create();
        LlamaModel model = null;
        try {
            model = new LlamaModel(state.config(), backend);
            CheckpointStore.loadWeights(dir, conf, model);
            TrainedModel loaded = new TrainedModel(dir, state, backend, model, tokenizer);
            if (loaded.tokenizer.vocabSize() != state.config().vocabSize()) {
                throw new IOException("checkpoint " + dir + ": its tokenizer has " + loaded.tokenizer.vocabSize()
                        + " pieces, the model's vocab_size is " + state.config().vocabSize());
            }
            return loaded;
        } catch (IOException | RuntimeException e) {
            if (model != null) model.close();
            backend.close();
            throw e;
        }
    }

    /**
     * The token a text starts after: the end-of-sequence token, which is what precedes every document in a prepared
     * dataset (documents are stored back to back, each followed by EOS), so the model has seen it before every
     * document start.
     */
    int documentStart() {
        if (tokenizer.eosId() < 0) throw new IllegalStateException("tokenizer of " + checkpoint + " has no EOS piece");
        return tokenizer.eosId();
    }

    /** {@code [documentStart(), encode(text)...]}. */
    int[] encodeDocument(String text) {
        int[] ids = tokenizer.encode(text);
        int[] out = new int[ids.length + 1];
        out[0] = documentStart();
        System.arraycopy(ids, 0, out, 1, ids.length);
        return out;
    }

    @Override
    public void close() {
        model.close();
        backend.close();
    }
}

package dev.jllama.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jllama.data.tokenizer.Tokenizer;
import dev.jllama.model.LlamaConfig;
import dev.jllama.model.checkpoint.CheckpointStore;
import dev.jllama.model.export.HfImport;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code llama import}: a Hugging Face {@code LlamaForCausalLM} directory as step 0 of a new run directory. */
@Command(name = "import", description = "Makes a Hugging Face LlamaForCausalLM directory step 0 of a new run directory.")
public final class ImportCommand extends LlamaCommand {
    static final String MODEL_CONFIG_FILE = "model.json";
    /** The seed {@code train} uses when given none, so that a plain {@code train --resume} continues the import. */
    static final long TRAIN_DEFAULT_SEED = 1234;

    @Option(names = "--hf", required = true, paramLabel = "DIR", description = "a Hugging Face LlamaForCausalLM"
            + " directory: config.json, model.safetensors (or shards listed by model.safetensors.index.json; F32, F16 or"
            + " BF16), tokenizer.model if any")
    String hf;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "a new run directory: the model becomes"
            + " DIR/checkpoints/step-00000000 (weights, zero AdamW moments, tokenizer) and its config DIR/model.json,"
            + " for train --model")
    String outDir;

    @Option(names = "--seed", defaultValue = "" + TRAIN_DEFAULT_SEED, paramLabel = "S", description = "the seed recorded"
            + " in the checkpoint, which train --resume must be given (default: ${DEFAULT-VALUE}, train's default)")
    long seed;

    @Override
    public Map<String, Object> run(PrintStream out) throws Exception {
        long start = System.nanoTime();
        Configuration hadoop = new Configuration();
        Path hfDir = new Path(CheckpointStore.toUri(hf));
        HfImport.Imported imported = HfImport.read(hfDir.getFileSystem(hadoop), hfDir);
        LlamaConfig config = imported.weights().config();
        if (imported.tokenizerModel() != null) {
            String source = new Path(hfDir, "tokenizer.model").toString();
            Tokenizer tokenizer = Tokenizer.fromBytes(imported.tokenizerModel(), source);
            if (tokenizer.vocabSize() != config.vocabSize()) {
                throw new IllegalArgumentException(source + " has " + tokenizer.vocabSize() + " pieces but config.json's "
                        + "vocab_size is " + config.vocabSize());
            }
        } else {
            out.println("note: " + hfDir + " has no tokenizer.model: the checkpoint holds no tokenizer");
        }
        String checkpoint = HfImport.writeCheckpoint(imported, outDir, hadoop, seed, hfDir.toString());
        Path runDir = new Path(CheckpointStore.toUri(outDir));
        Path modelConfig = new Path(runDir, MODEL_CONFIG_FILE);
        FileSystem fs = ExportCommand.withoutChecksumFiles(modelConfig.getFileSystem(hadoop));
        try (OutputStream o = fs.create(modelConfig, true)) {
            o.write(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(config.toJson()));
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        out.printf("imported %s (%,d parameters) in %.1f s as %s%n", hfDir, config.parameterCount(), seconds, checkpoint);
        out.printf("continue training with: llama train --model %s --out %s --resume [--data DIR]%n",
                outDir.replaceAll("/+$", "") + "/" + MODEL_CONFIG_FILE, outDir);

        Map<String, Object> result = new LinkedHashMap<>();
        result.put("checkpoint", checkpoint);
        result.put("model_config", modelConfig.toString());
        result.put("parameters", config.parameterCount());
        result.put("tokenizer", imported.tokenizerModel() != null);
        result.put("seconds", seconds);
        return result;
    }
}

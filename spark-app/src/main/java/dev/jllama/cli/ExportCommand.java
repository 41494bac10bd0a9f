package dev.jllama.cli;

import dev.jllama.data.tokenizer.Tokenizer;
import dev.jllama.model.checkpoint.CheckpointStore;
import dev.jllama.model.checkpoint.TensorType;
import dev.jllama.model.checkpoint.TrainingState;
import dev.jllama.model.export.GgufExport;
import dev.jllama.model.export.HfExport;
import dev.jllama.model.export.ModelWeights;
import dev.jllama.model.export.Vocabulary;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code llama export}: a checkpoint as a Hugging Face {@code LlamaForCausalLM} directory or a GGUF file. */
@Command(name = "export", description = "Writes a checkpoint as a Hugging Face LlamaForCausalLM directory or a GGUF file.")
public final class ExportCommand extends LlamaCommand {

    @Option(names = "--checkpoint", required = true, paramLabel = "DIR",
            description = "a run directory (its newest complete checkpoint), a checkpoint root, or one checkpoint")
    String checkpointArg;

    @Option(names = "--format", required = true, paramLabel = "F", completionCandidates = Formats.class,
            description = "hf: a Hugging Face LlamaForCausalLM directory (config.json, model.safetensors, tokenizer"
                    + " files); gguf: a GGUF v3 file for llama.cpp")
    String format;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "output directory; for gguf it receives"
            + " model.gguf (a path ending in .gguf names the file itself)")
    String outArg;

    @Option(names = "--dtype", defaultValue = "f32", paramLabel = "T",
            description = "f32, f16 or bf16 for the matrices; GGUF keeps norm gains in f32 (default: ${DEFAULT-VALUE})")
    String dtypeArg;

    @Option(names = "--tokenizer", paramLabel = "FILE", description = "SentencePiece model to export when the checkpoint holds none")
    String tokenizerArg;

    private TensorType dtype;

    static final class Formats extends ArrayList<String> {
        Formats() {
            super(List.of("hf", "gguf"));
        }
    }

    @Override
    void validate() {
        try {
            dtype = TensorType.parse(dtypeArg);
        } catch (IllegalArgumentException e) {
            throw new UsageException("--dtype: " + e.getMessage());
        }
    }

    @Override
    public Map<String, Object> run(PrintStream out) throws Exception {
        long start = System.nanoTime();
        Configuration hadoop = new Configuration();
        String checkpoint = CheckpointStore.resolve(checkpointArg, hadoop);
        TrainingState state = CheckpointStore.readState(checkpoint, hadoop);
        ModelWeights weights = ModelWeights.of(state.config(), CheckpointStore.readWeights(checkpoint, hadoop),
                checkpoint + "/" + CheckpointStore.MODEL_FILE);
        byte[] tokenizerBytes = tokenizerArg != null ? TokenizeCommand.read(hadoop, tokenizerArg)
                : CheckpointStore.readTokenizer(checkpoint, hadoop).orElse(null);
        String tokenizerSource = tokenizerArg != null ? tokenizerArg : checkpoint + "/" + CheckpointStore.TOKENIZER_FILE;
        Vocabulary vocabulary = tokenizerBytes == null ? null : vocabulary(Tokenizer.fromBytes(tokenizerBytes, tokenizerSource));

        Path outPath = new Path(CheckpointStore.toUri(outArg));
        FileSystem fs = withoutChecksumFiles(outPath.getFileSystem(hadoop));
        List<String> files = new ArrayList<>();
        if (format.equals("hf")) {
            if (vocabulary == null) {
                out.println("note: " + checkpoint + " holds no tokenizer.model and no --tokenizer was given: "
                        + "exporting without tokenizer files");
            }
            for (String file : HfExport.write(fs, outPath, weights, vocabulary, dtype)) {
                files.add(new Path(outPath, file).toString());
            }
        } else {
            if (vocabulary == null) {
                throw new UsageException(checkpoint + " holds no tokenizer.model, which GGUF needs: pass --tokenizer FILE");
            }
            Path file = outArg.endsWith(".gguf") ? outPath : new Path(outPath, GgufExport.FILE);
            GgufExport.write(fs, file, weights, vocabulary, dtype, "jllama " + new Path(checkpoint).getName());
            files.add(file.toString());
        }
        long bytes = 0;
        for (String file : files) bytes += fs.getFileStatus(new Path(file)).getLen();
        double seconds = (System.nanoTime() - start) / 1e9;
        out.printf("exported %s (step %d, %,d parameters) as %s %s in %.1f s:%n", checkpoint, state.step(),
                state.config().parameterCount(), format, dtypeArg, seconds);
        for (String file : files) out.println("  " + file);

        Map<String, Object> result = new LinkedHashMap<>();
        result.put("checkpoint", checkpoint);
        result.put("step", state.step());
        result.put("format", format);
        result.put("dtype", dtype.name().toLowerCase(java.util.Locale.ROOT));
        result.put("files", files);
        result.put("bytes", bytes);
        result.put("seconds", seconds);
        return result;
    }

    /** Local files without Hadoop's {@code .crc} companions, which other tools would take for part of the model. */
    static FileSystem withoutChecksumFiles(FileSystem fs) {
        return fs instanceof LocalFileSystem local ? local.getRaw() : fs;
    }

    /** The exporters' view of a tokenizer. */
    static Vocabulary vocabulary(Tokenizer tokenizer) {
        int n = tokenizer.vocabSize();
        List<String> pieces = new ArrayList<>(n);
        float[] scores = new float[n];
        int[] types = new int[n];
        for (int i = 0; i < n; i++) {
            pieces.add(tokenizer.piece(i));
            scores[i] = tokenizer.score(i);
            types[i] = tokenizer.type(i).wire;
        }
        return new Vocabulary(pieces, scores, types, tokenizer.bosId(), tokenizer.eosId(), tokenizer.unkId(),
                tokenizer.padId(), tokenizer.spec().addDummyPrefix(), tokenizer.toModelBytes());
    }
}

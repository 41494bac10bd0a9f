package dev.jllama.data.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The models we ship, and the ones we train, record no file system paths: SentencePiece's trainer writes its
 * input files and model prefix into TrainerSpec, which would publish the training machine's directories.
 */
class ModelPathsTest {
    private static final int TRAINER_SPEC = 2;
    private static final int INPUT = 1;
    private static final int MODEL_PREFIX = 2;

    /** Every TrainerSpec.input and TrainerSpec.model_prefix value of a serialised ModelProto. */
    static List<String> recordedPaths(byte[] model) throws IOException {
        List<String> paths = new ArrayList<>();
        CodedInputStream in = CodedInputStream.newInstance(model);
        for (int tag; (tag = in.readTag()) != 0; ) {
            if (WireFormat.getTagFieldNumber(tag) != TRAINER_SPEC) {
                in.skipField(tag);
                continue;
            }
            CodedInputStream spec = CodedInputStream.newInstance(in.readByteArray());
            for (int t; (t = spec.readTag()) != 0; ) {
                int field = WireFormat.getTagFieldNumber(t);
                if (field == INPUT || field == MODEL_PREFIX) paths.add(spec.readString());
                else spec.skipField(t);
            }
        }
        return paths;
    }

    private static byte[] resource(String name) throws IOException {
        try (InputStream in = ModelPathsTest.class.getResourceAsStream("/dev/jllama/data/tokenizer/" + name)) {
            if (in == null) throw new IOException(name + " is missing");
            return in.readAllBytes();
        }
    }

    @Test
    void shippedAndTestModelsRecordNoPaths() throws IOException {
        for (String name : List.of("spm-bpe-4096.model", "spm-bpe-nfkc.model", "spm-bpe-userdef.model")) {
            assertEquals(List.of(), recordedPaths(resource(name)), name);
        }
    }

    @Test
    void trainedModelsRecordNoPaths() throws IOException {
        Tokenizer trained = BpeTrainer.trainFromCounts(Map.of("▁paths", 3L, "▁never", 2L), BpeTrainerOptions.llama(270));
        assertEquals(List.of(), recordedPaths(trained.toModelBytes()));
    }

    @Test
    void theReaderFindsPathsWhereSentencePieceWritesThem() throws IOException {
        // A ModelProto whose TrainerSpec holds input "/a/corpus.txt" and model_prefix "/b/m" before model_type.
        byte[] spec = {0x0a, 13, '/', 'a', '/', 'c', 'o', 'r', 'p', 'u', 's', '.', 't', 'x', 't',
                0x12, 4, '/', 'b', '/', 'm', 0x18, 2};
        byte[] model = new byte[spec.length + 2];
        model[0] = 0x12;
        model[1] = (byte) spec.length;
        System.arraycopy(spec, 0, model, 2, spec.length);
        assertEquals(List.of("/a/corpus.txt", "/b/m"), recordedPaths(model));
    }
}

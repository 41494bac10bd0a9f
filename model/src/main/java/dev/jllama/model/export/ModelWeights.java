package dev.jllama.model.export;

import dev.jllama.model.LlamaConfig;
import dev.jllama.model.checkpoint.SafeTensors;
import java.io.IOException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/** A model in host memory, as the exporters and the importer pass it around: its shape and every tensor by our name. */
public record ModelWeights(LlamaConfig config, Map<String, float[]> tensors) {

    public float[] get(TensorNames tensor) {
        return tensors.get(tensor.ours());
    }

    /**
     * The weights of a checkpoint's {@code model.safetensors}, checked against the model's names and shapes.
     *
     * @param source names the file in error messages
     */
    public static ModelWeights of(LlamaConfig config, Map<String, SafeTensors.Entry> entries, String source)
            throws IOException {
        Map<String, float[]> tensors = new LinkedHashMap<>();
        for (TensorNames t : TensorNames.of(config)) {
            SafeTensors.Entry entry = entries.get(t.ours());
            if (entry == null) throw new IOException(source + ": missing tensor '" + t.ours() + "'");
            if (!Arrays.equals(entry.shape(), t.shape())) {
                throw new IOException(source + ": tensor '" + t.ours() + "' has shape " + Arrays.toString(entry.shape())
                        + ", the model's config needs " + Arrays.toString(t.shape()));
            }
            tensors.put(t.ours(), entry.data());
        }
        return new ModelWeights(config, tensors);
    }
}

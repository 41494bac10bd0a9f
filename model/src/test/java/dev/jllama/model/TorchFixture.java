package dev.jllama.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * A PyTorch reference fixture written by {@code model/src/test/python/make_llama_fixtures.py}: {@code NAME.json}
 * (config, optimizer settings, per-step windows/loss/gradient norm/lr, and the offset and shape of every tensor)
 * and {@code NAME.bin} (raw little-endian float32). Read from the test class path.
 */
record TorchFixture(String name, JsonNode meta, FloatBuffer data) {

    static TorchFixture load(String name) {
        String base = "/fixtures/" + name;
        try {
            JsonNode meta = new ObjectMapper().readTree(bytes(base + ".json"));
            if (!"jllama-torch-fixture".equals(meta.path("format").asText()) || meta.path("version").asInt() != 1) {
                throw new IllegalStateException(base + ".json: expected format jllama-torch-fixture version 1, got "
                        + meta.path("format") + " version " + meta.path("version"));
            }
            FloatBuffer data = ByteBuffer.wrap(bytes(base + ".bin")).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
            return new TorchFixture(name, meta, data);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read fixture " + base, e);
        }
    }

    private static byte[] bytes(String resource) throws IOException {
        try (InputStream in = TorchFixture.class.getResourceAsStream(resource)) {
            if (in == null) throw new IOException("missing test resource " + resource);
            return in.readAllBytes();
        }
    }

    LlamaConfig config() {
        return LlamaConfig.fromJson(meta.get("config"));
    }

    int batch() {
        return meta.get("batch").asInt();
    }

    int seqLen() {
        return meta.get("seq_len").asInt();
    }

    JsonNode optimizer() {
        return meta.get("optimizer");
    }

    List<JsonNode> steps() {
        List<JsonNode> steps = new ArrayList<>();
        meta.get("steps").forEach(steps::add);
        return steps;
    }

    static int[] windows(JsonNode step) {
        JsonNode w = step.get("windows");
        int[] out = new int[w.size()];
        for (int i = 0; i < out.length; i++) out[i] = w.get(i).asInt();
        return out;
    }

    /** Tensor names of a section ({@code weights, grads, after_step1, after_final}), in file order. */
    List<String> names(String section) {
        List<String> names = new ArrayList<>();
        Iterator<String> it = section(section).fieldNames();
        it.forEachRemaining(names::add);
        return names;
    }

    private JsonNode section(String section) {
        JsonNode node = meta.get("tensors").get(section);
        if (node == null) throw new IllegalArgumentException(name + ": no tensor section '" + section + "'");
        return node;
    }

    float[] tensor(String section, String tensor, int[] expectedShape) {
        JsonNode entry = section(section).get(tensor);
        if (entry == null) throw new IllegalArgumentException(name + ": no tensor '" + tensor + "' in " + section);
        JsonNode shape = entry.get("shape");
        int size = 1;
        int[] dims = new int[shape.size()];
        for (int i = 0; i < dims.length; i++) size *= (dims[i] = shape.get(i).asInt());
        if (!java.util.Arrays.equals(dims, expectedShape)) {
            throw new IllegalArgumentException(name + ": " + section + "/" + tensor + " has shape "
                    + java.util.Arrays.toString(dims) + ", the model expects " + java.util.Arrays.toString(expectedShape));
        }
        float[] out = new float[size];
        data.get(entry.get("offset").asInt(), out, 0, size);
        return out;
    }

    /** Torch's own float32-vs-float64 relative error for a tensor of a section (the float32 noise floor). */
    double torchNoise(String section, String tensor) {
        return meta.path("f32_vs_f64_relative_error").path(section).path(tensor).asDouble(Double.NaN);
    }
}

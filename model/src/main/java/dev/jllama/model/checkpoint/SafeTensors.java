package dev.jllama.model.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The safetensors format (8-byte little-endian header length, a JSON header of
 * {@code name -> {dtype, shape, data_offsets}}, then the raw little-endian data). Tensors are float32 in memory
 * and F32, F16 or BF16 in the file. Used for checkpoint weights and moments, and by the Hugging Face exporter and
 * importer.
 */
public final class SafeTensors {
    private SafeTensors() {}

    /** One named float32 tensor. */
    public record Entry(String name, int[] shape, float[] data) {}

    public static void write(OutputStream out, List<Entry> entries, Map<String, String> metadata) throws IOException {
        write(out, entries, metadata, TensorType.F32);
    }

    /** Writes every tensor as {@code type}, rounding to nearest even where it is narrower than float32. */
    public static void write(OutputStream out, List<Entry> entries, Map<String, String> metadata, TensorType type)
            throws IOException {
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode header = mapper.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Entry e : entries) {
            ObjectNode node = header.putObject(e.name());
            node.put("dtype", type.safetensorsName);
            var shape = node.putArray("shape");
            for (int s : e.shape()) shape.add(s);
            long bytes = (long) type.bytes * e.data().length;
            node.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] json = mapper.writeValueAsBytes(header);
        // Pad the header with spaces so the data starts 8-byte aligned, as the reference implementation does.
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
        out.write(length.array());
        out.write(json);
        for (int i = json.length; i < padded; i++) out.write(' ');
        ByteBuffer buffer = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        for (Entry e : entries) {
            for (float v : e.data()) {
                if (!buffer.hasRemaining()) {
                    out.write(buffer.array(), 0, buffer.position());
                    buffer.clear();
                }
                if (type == TensorType.F32) buffer.putFloat(v);
                else buffer.putShort((short) type.encode(v));
            }
        }
        out.write(buffer.array(), 0, buffer.position());
    }

    /**
     * Reads every tensor of a safetensors stream into float32; F32, F16 and BF16 are read, other dtypes refused.
     *
     * @param source names the file in error messages
     */
    public static Map<String, Entry> read(InputStream stream, String source) throws IOException {
        DataInputStream in = new DataInputStream(stream);
        byte[] lengthBytes = new byte[8];
        readFully(in, lengthBytes, source, 0);
        long headerLength = ByteBuffer.wrap(lengthBytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (headerLength <= 0 || headerLength > (100L << 20)) {
            throw new IOException(source + ": invalid safetensors header length " + headerLength + " at byte 0");
        }
        byte[] json = new byte[(int) headerLength];
        readFully(in, json, source, 8);
        JsonNode header;
        try {
            header = new ObjectMapper().readTree(new String(json, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IOException(source + ": safetensors header is not valid JSON: " + e.getMessage(), e);
        }
        // Tensors are read in file order, so sort the header by offset.
        Map<Long, String> byOffset = new java.util.TreeMap<>();
        for (Iterator<String> it = header.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            if (name.equals("__metadata__")) continue;
            JsonNode node = header.get(name);
            String dtype = node.path("dtype").asText();
            if (TensorType.ofSafetensors(dtype) == null) {
                throw new IOException(source + ": tensor '" + name + "' has dtype " + dtype
                        + ", only F32, F16 and BF16 are supported");
            }
            byOffset.put(node.get("data_offsets").get(0).asLong(), name);
        }
        Map<String, Entry> result = new LinkedHashMap<>();
        long position = 0;
        long base = 8 + headerLength;
        for (Map.Entry<Long, String> item : byOffset.entrySet()) {
            String name = item.getValue();
            JsonNode node = header.get(name);
            long begin = node.get("data_offsets").get(0).asLong();
            long end = node.get("data_offsets").get(1).asLong();
            if (begin != position) {
                throw new IOException(source + ": tensor '" + name + "' starts at data offset " + begin
                        + ", expected " + position);
            }
            JsonNode shapeNode = node.get("shape");
            int[] shape = new int[shapeNode.size()];
            long count = 1;
            for (int i = 0; i < shape.length; i++) {
                shape[i] = shapeNode.get(i).asInt();
                count *= shape[i];
            }
            TensorType type = TensorType.ofSafetensors(node.get("dtype").asText());
            if (count * type.bytes != end - begin) {
                throw new IOException(source + ": tensor '" + name + "' shape does not match its "
                        + (end - begin) + " bytes");
            }
            byte[] raw = new byte[(int) (end - begin)];
            readFully(in, raw, source, base + begin);
            float[] data = new float[(int) count];
            ByteBuffer bytes = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
            if (type == TensorType.F32) {
                bytes.asFloatBuffer().get(data);
            } else {
                for (int i = 0; i < data.length; i++) data[i] = type.decode(bytes.getShort() & 0xFFFF);
            }
            result.put(name, new Entry(name, shape, data));
            position = end;
        }
        return result;
    }

    private static void readFully(DataInputStream in, byte[] into, String source, long offset) throws IOException {
        try {
            in.readFully(into);
        } catch (EOFException e) {
            throw new IOException(source + ": truncated safetensors file: expected " + into.length
                    + " bytes at byte offset " + offset, e);
        }
    }
}

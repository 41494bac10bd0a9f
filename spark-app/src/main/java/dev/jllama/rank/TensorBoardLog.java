package dev.jllama.rank;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.zip.CRC32C;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.StreamCapabilities;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * TensorBoard's view of a run: {@code RUN_DIR/tensorboard/events.out.tfevents.*}, the scalars of
 * {@code metrics.jsonl} (the same steps and values, rounded to float) for {@code tensorboard --logdir}.
 *
 * <p>The file is TensorFlow's event format: TFRecords (little-endian uint64 length, masked CRC32C of the length,
 * the data, masked CRC32C of the data) of {@code Event} protos: {@code wall_time} (1), {@code step} (2),
 * {@code file_version} (3, "brain.Event:2" in the first event), {@code summary} (5: {@code value} (1): {@code tag}
 * (1), {@code simple_value} (2)), {@code session_log} (7: {@code status} (1), START = 1).
 *
 * <p>One new file per run attempt, never a file shared with another attempt. A file TensorBoard reads is only ever
 * extended: it keeps its place in a file and reads on from there, so rewriting a file under it (as
 * {@code metrics.jsonl} may be) would show it garbage. Each attempt's file starts with what {@code metrics.jsonl}
 * kept (a fresh run: nothing; a resumed run: the steps up to its checkpoint) and goes on with the attempt's own
 * steps; once that start is in the file, the earlier attempts' files are deleted. So a TensorBoard started later
 * sees every step once, exactly as {@code metrics.jsonl}; one already running gets a SessionLog START at step 1
 * first, on which TensorBoard drops every point it read before (its Python loader and its Rust data server both
 * do: tensorboard 2.21 with an earlier attempt's file left beside the new one showed every step once).
 *
 * <p>Writing: the stream stays open for the attempt and is flushed ({@code hflush}) at every {@link #flush()}:
 * HDFS, and local files through the raw local FileSystem (the checksummed one cannot flush part of a checksum
 * chunk; a TensorBoard reads the file itself, not its {@code .crc}). Where a stream cannot be flushed (object
 * stores, where an object appears only when it is closed), the attempt's whole file is written beside it and
 * renamed over it at every flush instead, which such stores' readers see as a new, longer object.
 */
final class TensorBoardLog implements Closeable {
    private static final Logger LOG = LogManager.getLogger(TensorBoardLog.class);
    static final String DIRECTORY = "tensorboard";
    /** The marker TensorBoard looks for in a file name. */
    static final String FILE_PREFIX = "events.out.tfevents.";
    private static final int MASK_DELTA = 0xa282ead8;

    private final Configuration conf;
    private final FileSystem fs;
    private final Path path;
    /** Records not yet in the file. */
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
    /** The open file, or null where the file is rewritten at each flush instead. */
    private FSDataOutputStream out;
    /** The whole file, kept only when it is rewritten at each flush. */
    private ByteArrayOutputStream whole;

    private TensorBoardLog(FileSystem fs, Path path, Configuration conf) {
        this.fs = fs;
        this.path = path;
        this.conf = conf;
    }

    /**
     * Starts this attempt's event file in {@code runDir/tensorboard} with what {@code metrics} holds (what the run
     * keeps of earlier attempts), then deletes the earlier attempts' files.
     *
     * @param host names the file, as TensorBoard's own writers do
     */
    static TensorBoardLog open(String runDir, Configuration conf, MetricsLog metrics, String host) throws IOException {
        Path dir = new Path(runDir, DIRECTORY);
        FileSystem fs = dir.getFileSystem(conf);
        if (fs instanceof LocalFileSystem local) fs = local.getRawFileSystem();
        dir = fs.makeQualified(dir);
        fs.mkdirs(dir);
        // Seconds first, so that names sort by time as TensorBoard orders files; a random part for two in a second.
        String name = String.format("%s%010d.%s.%08x", FILE_PREFIX, System.currentTimeMillis() / 1000,
                host.replaceAll("[^A-Za-z0-9.-]", "_"), ThreadLocalRandom.current().nextInt());
        TensorBoardLog log = new TensorBoardLog(fs, new Path(dir, name), conf);
        double now = System.currentTimeMillis() / 1000.0;
        log.record(new Event(now, 0).fileVersion("brain.Event:2"));
        log.record(new Event(now, 1).sessionStart()); // a running TensorBoard drops what it read of older attempts
        metrics.forEachInStepOrder(log::add, log::add);
        FSDataOutputStream stream = fs.create(log.path, false);
        if (stream.hasCapability(StreamCapabilities.HFLUSH)) {
            log.out = stream;
        } else { // an object store: an object appears when it is closed
            stream.close();
            log.whole = new ByteArrayOutputStream();
        }
        log.flush();
        for (FileStatus old : fs.listStatus(dir)) {
            if (old.getPath().getName().contains("tfevents") && !old.getPath().getName().equals(name)) {
                fs.delete(old.getPath(), false);
            }
        }
        return log;
    }

    String path() {
        return path.toString();
    }

    /** A step's scalars, under the {@code train/} tags. */
    void add(StepMetrics m) {
        Map<String, Double> values = new LinkedHashMap<>();
        values.put("train/loss", m.loss());
        values.put("train/learning_rate", m.lr());
        values.put("train/grad_norm", m.gradNorm());
        values.put("train/tokens_per_s", m.tokensPerS());
        values.put("train/mfu", m.mfu());
        values.put("train/compute_s", m.computeS());
        values.put("train/all_reduce_wait_s", m.commWaitS());
        values.put("train/data_wait_s", m.dataWaitS());
        m.data().forEach((dataset, share) -> {
            values.put("data/" + dataset + "/realised", ((Number) share.get("realised")).doubleValue());
            values.put("data/" + dataset + "/epochs", ((Number) share.get("epochs")).doubleValue());
        });
        record(new Event(m.time(), m.step()).scalars(values));
    }

    /** A validation's scalars, under the {@code val/} tags. */
    void add(MetricsLog.Validation v) {
        Map<String, Double> values = new LinkedHashMap<>();
        values.put("val/loss", v.valLoss());
        values.put("val/perplexity", v.valPerplexity());
        values.put("val/bits_per_byte", v.valBitsPerByte());
        record(new Event(v.time(), v.step()).scalars(values));
    }

    /** Puts the recorded events into the file where TensorBoard can read them. */
    void flush() throws IOException {
        if (pending.size() == 0) return;
        if (out != null) {
            pending.writeTo(out);
            out.hflush();
        } else {
            pending.writeTo(whole);
            MetricsLog.replace(path, whole.toByteArray(), conf);
        }
        pending.reset();
    }

    @Override
    public void close() throws IOException {
        try {
            flush();
        } finally {
            if (out != null) out.close();
            out = null;
        }
    }

    // ---- encoding ----

    private void record(Event event) {
        byte[] data = event.bytes();
        byte[] length = ByteBuffer.allocate(Long.BYTES).order(ByteOrder.LITTLE_ENDIAN).putLong(data.length).array();
        ByteBuffer framed = ByteBuffer.allocate(8 + 4 + data.length + 4).order(ByteOrder.LITTLE_ENDIAN);
        framed.put(length).putInt(maskedCrc(length)).put(data).putInt(maskedCrc(data));
        pending.writeBytes(framed.array());
    }

    /** TFRecord's checksum: CRC32C, rotated right by 15 bits plus a constant, so that a CRC of CRCs is no CRC. */
    static int maskedCrc(byte[] bytes) {
        CRC32C crc = new CRC32C();
        crc.update(bytes);
        int value = (int) crc.getValue();
        return ((value >>> 15) | (value << 17)) + MASK_DELTA;
    }

    /** One {@code Event} proto, built with protobuf's own encoder. */
    private static final class Event {
        private final ByteString.Output bytes = ByteString.newOutput();
        private final CodedOutputStream out = CodedOutputStream.newInstance(bytes);

        Event(double wallTime, long step) {
            write(o -> {
                o.writeDouble(1, wallTime);
                o.writeInt64(2, step);
            });
        }

        Event fileVersion(String version) {
            write(o -> o.writeString(3, version));
            return this;
        }

        /** {@code session_log { status: START }}. */
        Event sessionStart() {
            write(o -> o.writeBytes(7, message(sessionLog -> sessionLog.writeEnum(1, 1))));
            return this;
        }

        /** {@code summary { value { tag, simple_value } ... }}; null values are left out. */
        Event scalars(Map<String, Double> values) {
            write(o -> o.writeBytes(5, message(summary -> {
                for (Map.Entry<String, Double> e : values.entrySet()) {
                    if (e.getValue() == null) continue;
                    float value = e.getValue().floatValue();
                    summary.writeBytes(1, message(v -> {
                        v.writeString(1, e.getKey());
                        v.writeFloat(2, value);
                    }));
                }
            })));
            return this;
        }

        byte[] bytes() {
            write(CodedOutputStream::flush);
            return bytes.toByteString().toByteArray();
        }

        private interface Fields {
            void write(CodedOutputStream out) throws IOException;
        }

        private void write(Fields fields) {
            try {
                fields.write(out);
            } catch (IOException e) {
                throw new IllegalStateException("encoding into memory cannot fail", e);
            }
        }

        /** A nested message's bytes, for a length-delimited field. */
        private static ByteString message(Fields fields) throws IOException {
            ByteString.Output bytes = ByteString.newOutput();
            CodedOutputStream out = CodedOutputStream.newInstance(bytes);
            fields.write(out);
            out.flush();
            return bytes.toByteString();
        }
    }
}

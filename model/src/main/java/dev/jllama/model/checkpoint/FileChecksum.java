package dev.jllama.model.checkpoint;

import java.io.FilterInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.zip.CRC32C;

/**
 * The length and CRC32C of one checkpoint file, recorded when it is written and checked whenever it is read, on any
 * FileSystem (Hadoop's own ".crc" side files exist only on some file systems and only when nothing switched them
 * off).
 */
public record FileChecksum(long bytes, String crc32c) {

    static String hex(long crc) {
        return String.format("%08x", crc);
    }

    /** Counts and checksums what passes through to the file. */
    static final class Writing extends FilterOutputStream {
        private final CRC32C crc = new CRC32C();
        private long bytes;

        Writing(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            crc.update(b);
            bytes++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            crc.update(b, off, len);
            bytes += len;
        }

        FileChecksum checksum() {
            return new FileChecksum(bytes, hex(crc.getValue()));
        }
    }

    /** Counts and checksums what is read from the file; {@link #finish} reads the rest and compares. */
    static final class Reading extends FilterInputStream {
        private final CRC32C crc = new CRC32C();
        private long bytes;

        Reading(InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            int b = in.read();
            if (b >= 0) {
                crc.update(b);
                bytes++;
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = in.read(b, off, len);
            if (n > 0) {
                crc.update(b, off, n);
                bytes += n;
            }
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            byte[] sink = new byte[(int) Math.min(n, 1 << 16)];
            int read = read(sink, 0, sink.length);
            return Math.max(read, 0);
        }

        /** Drains the stream; null when length and CRC32C equal {@code expected}, else what differs. */
        String mismatch(FileChecksum expected) throws IOException {
            byte[] sink = new byte[1 << 16];
            while (read(sink, 0, sink.length) >= 0) {
                // reading is what checksums it
            }
            if (bytes != expected.bytes()) return bytes + " bytes, recorded " + expected.bytes();
            String found = hex(crc.getValue());
            return found.equals(expected.crc32c()) ? null : "CRC32C " + found + ", recorded " + expected.crc32c();
        }
    }
}

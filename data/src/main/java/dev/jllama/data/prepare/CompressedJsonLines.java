package dev.jllama.data.prepare;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.luben.zstd.ZstdInputStream;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.zip.GZIPInputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * JSON lines compressed with gzip (concatenated members allowed) or zstd, read in one task per file (bzip2 ones are
 * split across tasks by {@link DocumentInput}). A
 * malformed record names its line's byte offset in the decompressed stream; a damaged or truncated file names the
 * compressed byte offset where reading stopped.
 */
final class CompressedJsonLines {
    private CompressedJsonLines() {}

    static Iterator<Document> read(DocumentInput.InputFile file, DocumentInput.Columns columns, Configuration conf)
            throws IOException {
        Path p = new Path(file.path());
        CountingStream raw = new CountingStream(new BufferedInputStream(p.getFileSystem(conf).open(p), 1 << 16));
        InputStream in;
        try {
            in = decompress(raw, InputFormat.compression(p.getName()));
        } catch (IOException e) {
            raw.close();
            throw damaged(file, raw, e);
        }
        return new PullIterator<>() {
            private final InputStream lines = new BufferedInputStream(in, 1 << 16);
            private final ObjectMapper json = new ObjectMapper();
            private final ByteArrayOutputStream line = new ByteArrayOutputStream();
            private long offset; // decompressed offset of the next line

            /** The next line's document; null for a blank line or at the end. */
            @Override
            protected Document pull() {
                line.reset();
                long start = offset;
                try {
                    int b;
                    while ((b = lines.read()) >= 0 && b != '\n') line.write(b);
                    offset += line.size() + (b >= 0 ? 1 : 0);
                    if (b < 0) {
                        end();
                        lines.close();
                        if (line.size() == 0) return null;
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException(damaged(file, raw, e));
                }
                return DocumentInput.jsonDocument(json, line.toString(StandardCharsets.UTF_8), file.path(), start,
                        file.source(), columns);
            }
        };
    }

    private static InputStream decompress(InputStream raw, String compression) throws IOException {
        return switch (compression) {
            case ".gz" -> new GZIPInputStream(raw, 1 << 16);
            case ".zst" -> new ZstdInputStream(raw).setContinuous(false);
            default -> throw new IllegalArgumentException("not a compressed JSON lines file: " + compression);
        };
    }

    private static IOException damaged(DocumentInput.InputFile file, CountingStream raw, IOException cause) {
        String what = cause instanceof java.io.EOFException || String.valueOf(cause.getMessage()).contains("runcated")
                ? "ends early (truncated?)" : "cannot be decompressed (" + cause.getMessage() + ")";
        return new IOException("input " + file.path() + ": the compressed stream " + what + " at compressed byte offset "
                + raw.count, cause);
    }

    /** Counts the compressed bytes consumed, for error messages. */
    private static final class CountingStream extends FilterInputStream {
        long count;

        CountingStream(InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) count++;
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            if (n > 0) count += n;
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            long s = super.skip(n);
            count += s;
            return s;
        }
    }
}

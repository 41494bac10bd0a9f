package dev.jllama.data.prepare;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.netpreserve.jwarc.ParsingException;
import org.netpreserve.jwarc.WarcConversion;
import org.netpreserve.jwarc.WarcReader;
import org.netpreserve.jwarc.WarcRecord;

/**
 * Common Crawl WET files through jwarc, one task per file: every conversion record is a document, its
 * WARC-Target-URI the document's location (the file where a record has none); other records (warcinfo) are
 * skipped. A conversion record without a body is an error naming the file and the record's byte offset (in the
 * compressed file for .gz, where Common Crawl starts a gzip member per record).
 */
final class WetInput {
    private WetInput() {}

    static Iterator<Document> read(DocumentInput.InputFile file, Configuration conf) throws IOException {
        Path p = new Path(file.path());
        InputStream in = p.getFileSystem(conf).open(p);
        WarcReader reader = new WarcReader(Channels.newChannel(in));
        return new PullIterator<>() {
            /** The next conversion record's document; null for other records and at the end. */
            @Override
            protected Document pull() {
                try {
                    Optional<WarcRecord> r = reader.next();
                    if (r.isEmpty()) {
                        end();
                        reader.close();
                        return null;
                    }
                    if (!(r.get() instanceof WarcConversion c)) return null;
                    long length = c.body().size();
                    if (length <= 0) {
                        throw new IOException("input " + file.path() + ": the WET conversion record at byte offset "
                                + reader.position() + " (" + c.target() + ") has no body");
                    }
                    byte[] body = c.body().stream().readAllBytes();
                    if (body.length < length) {
                        throw new IOException("input " + file.path() + ": the WET record at byte offset " + reader.position()
                                + " is truncated (" + body.length + " of " + length + " body bytes)");
                    }
                    String url = c.target();
                    return new Document(file.source(), url != null ? url : file.path(), new String(body, StandardCharsets.UTF_8));
                } catch (ParsingException e) {
                    throw new UncheckedIOException(new IOException("input " + file.path() + ": not a WARC/WET record at byte offset "
                            + reader.position() + ": " + e.getMessage(), e));
                } catch (IOException e) {
                    if (e.getMessage() != null && e.getMessage().startsWith("input ")) throw new UncheckedIOException(e);
                    throw new UncheckedIOException(new IOException("input " + file.path() + ": reading the WET record at byte offset "
                            + reader.position() + " failed: " + e.getMessage(), e));
                }
            }
        };
    }
}

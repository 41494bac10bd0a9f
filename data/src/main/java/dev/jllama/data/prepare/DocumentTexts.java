package dev.jllama.data.prepare;

import java.io.IOException;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

/**
 * The documents of some inputs as {@code prepare} reads and cleans them, for jobs other than preparation (training a
 * quality classifier): every format {@link DocumentInput} reads, each text after {@link TextCleaner}, empty ones
 * dropped.
 */
public final class DocumentTexts {
    private DocumentTexts() {}

    /**
     * @param inputs     files, directories or globs on any Hadoop file system ({@code NAME=} prefixes are accepted and
     *                   ignored here)
     * @param textColumn the JSON field or Parquet/ORC column holding each document's text
     * @throws IOException when an input matches no file
     */
    public static JavaRDD<String> read(JavaSparkContext sc, List<String> inputs, String textColumn) throws IOException {
        List<DocumentInput.InputFile> files = DocumentInput.expand(inputs, sc.hadoopConfiguration());
        Broadcast<byte[]> hadoopConf = sc.broadcast(HadoopConf.toBytes(sc.hadoopConfiguration()));
        return DocumentInput.read(sc, files, new DocumentInput.Columns(textColumn, null), 0, hadoopConf)
                .map(d -> TextCleaner.clean(d.text()))
                .filter(text -> !text.isEmpty());
    }
}

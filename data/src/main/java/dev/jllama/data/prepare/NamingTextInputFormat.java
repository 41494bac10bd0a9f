package dev.jllama.data.prepare;

import java.io.IOException;
import org.apache.hadoop.io.LongWritable;
import org.apache.hadoop.io.Text;
import org.apache.hadoop.mapreduce.InputSplit;
import org.apache.hadoop.mapreduce.RecordReader;
import org.apache.hadoop.mapreduce.TaskAttemptContext;
import org.apache.hadoop.mapreduce.lib.input.FileSplit;
import org.apache.hadoop.mapreduce.lib.input.TextInputFormat;

/**
 * Hadoop's text input (lines or delimited records, split across tasks, bzip2 split at its blocks) whose failures
 * name the file and the byte offset reached: a damaged or truncated compressed file otherwise fails with the
 * decompressor's bare "unexpected end of stream", in the reader's set-up as often as while reading.
 */
public final class NamingTextInputFormat extends TextInputFormat {

    @Override
    public RecordReader<LongWritable, Text> createRecordReader(InputSplit split, TaskAttemptContext context) {
        return new Reader(super.createRecordReader(split, context));
    }

    private static final class Reader extends RecordReader<LongWritable, Text> {
        private final RecordReader<LongWritable, Text> lines;
        private String file = "?";
        private long offset;

        Reader(RecordReader<LongWritable, Text> lines) {
            this.lines = lines;
        }

        @Override
        public void initialize(InputSplit split, TaskAttemptContext context) throws IOException, InterruptedException {
            if (split instanceof FileSplit fileSplit) {
                file = fileSplit.getPath().toString();
                offset = fileSplit.getStart();
            }
            try {
                lines.initialize(split, context);
            } catch (IOException | RuntimeException e) {
                throw named(e);
            }
        }

        @Override
        public boolean nextKeyValue() throws IOException, InterruptedException {
            try {
                boolean more = lines.nextKeyValue();
                if (more) offset = lines.getCurrentKey().get();
                return more;
            } catch (IOException | RuntimeException e) {
                throw named(e);
            }
        }

        private IOException named(Exception e) {
            return new IOException("input " + file + ": damaged or truncated after byte offset " + offset + " (" + e + ")", e);
        }

        @Override
        public LongWritable getCurrentKey() throws IOException, InterruptedException {
            return lines.getCurrentKey();
        }

        @Override
        public Text getCurrentValue() throws IOException, InterruptedException {
            return lines.getCurrentValue();
        }

        @Override
        public float getProgress() throws IOException, InterruptedException {
            return lines.getProgress();
        }

        @Override
        public void close() throws IOException {
            lines.close();
        }
    }
}

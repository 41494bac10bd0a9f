package dev.jllama.data.prepare;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.storage.StorageLevel;
import scala.Tuple2;

/**
 * Decontamination against evaluation tasks, as GPT-3 and lm-evaluation-harness do it: a training document is
 * removed when it shares any n-gram of n words (default 13; words as {@link Words} makes them) with an item of a
 * task file. A task file is JSON lines; every string in an item (top-level fields and arrays of strings, e.g. a
 * context and its choices) contributes its n-grams separately. Strings shorter than n words contribute nothing
 * (a short answer such as "yes" would otherwise match everything); items with no string of n words are counted.
 */
final class Decontamination {
    private Decontamination() {}

    /** The n-grams of up to 31 task files, each n-gram's value a bit mask of the files it occurs in. */
    record Tasks(List<String> files, int n, Map<Long, Integer> ngrams, long[] items, long[] itemsTooShort)
            implements Serializable {}

    /**
     * Outcome: every document with its mask (persisted: unpersist when the kept documents are stored), and per
     * task file how many documents it removed.
     */
    record Result(JavaRDD<Tuple2<Doc, Integer>> flagged, long[] removedPerTask, long removed) {
        JavaRDD<Doc> kept() {
            return flagged.filter(t -> t._2() == 0).map(Tuple2::_1);
        }
    }

    static Tasks load(List<String> files, int n, Configuration conf) throws IOException {
        if (files.size() > 31) throw new IOException("at most 31 task files for decontamination, got " + files.size());
        ObjectMapper json = new ObjectMapper();
        Map<Long, Integer> ngrams = new HashMap<>();
        long[] items = new long[files.size()];
        long[] tooShort = new long[files.size()];
        for (int t = 0; t < files.size(); t++) {
            Path p = new Path(files.get(t));
            long offset = 0;
            try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getFileSystem(conf).open(p), StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                    long at = offset;
                    offset += line.getBytes(StandardCharsets.UTF_8).length + 1;
                    if (line.isBlank()) continue;
                    JsonNode item;
                    try {
                        item = json.readTree(line);
                    } catch (IOException e) {
                        throw new IOException("task file " + p + ": the line at byte offset " + at + " is not valid JSON", e);
                    }
                    items[t]++;
                    boolean any = false;
                    for (String s : strings(item)) {
                        long[] words = Words.hashes(s);
                        for (int i = 0; i + n <= words.length; i++) {
                            ngrams.merge(Words.ngram(words, i, n), 1 << t, (x, y) -> x | y);
                            any = true;
                        }
                    }
                    if (!any) tooShort[t]++;
                }
            } catch (java.io.FileNotFoundException e) {
                throw new IOException("task file " + p + " does not exist", e);
            }
        }
        return new Tasks(List.copyOf(files), n, ngrams, items, tooShort);
    }

    private static List<String> strings(JsonNode item) {
        List<String> out = new ArrayList<>();
        if (item.isTextual()) out.add(item.asText());
        else if (item.isObject() || item.isArray()) item.forEach(v -> {
            if (v.isTextual()) out.add(v.asText());
            else if (v.isArray()) v.forEach(x -> {
                if (x.isTextual()) out.add(x.asText());
            });
        });
        return out;
    }

    /** The bit mask of the task files whose n-grams occur in the text (0: clean). */
    static int contamination(String text, Tasks tasks) {
        long[] words = Words.hashes(text);
        int mask = 0;
        for (int i = 0; i + tasks.n() <= words.length; i++) {
            Integer m = tasks.ngrams().get(Words.ngram(words, i, tasks.n()));
            if (m != null) mask |= m;
        }
        return mask;
    }

    static Result apply(JavaSparkContext sc, JavaRDD<Doc> docs, Tasks tasks) {
        Broadcast<Tasks> b = sc.broadcast(tasks);
        int count = tasks.files().size();
        // A document an earlier step removed (passing through for the annotations table) is not looked at.
        JavaRDD<Tuple2<Doc, Integer>> flagged = docs.map(d -> new Tuple2<>(d, d.removedBy() != null ? 0
                        : contamination(d.text(), b.value())))
                .persist(StorageLevel.MEMORY_AND_DISK_SER());
        long[] perTask = flagged.map(Tuple2::_2).aggregate(new long[count + 1], (acc, mask) -> {
            for (int t = 0; t < count; t++) if ((mask & (1 << t)) != 0) acc[t]++;
            if (mask != 0) acc[count]++;
            return acc;
        }, (x, y) -> {
            long[] s = x.clone();
            for (int i = 0; i < s.length; i++) s[i] += y[i];
            return s;
        });
        return new Result(flagged, java.util.Arrays.copyOf(perTask, count), perTask[count]);
    }
}

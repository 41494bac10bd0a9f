package dev.jllama.data.prepare;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.awt.Color;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.CategoryAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.CombinedDomainCategoryPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.renderer.category.StackedBarRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.data.category.DefaultCategoryDataset;

/**
 * Per-source accounting of the whole job: documents, bytes and tokens that each stage let through, per source, and
 * the tokens written per source and split. Written as {@code report.json} and {@code report.png} next to the
 * manifest, summarised in the manifest's preparation section, and printed as a table.
 */
final class PrepareReport {
    static final String JSON_FILE = "report.json";
    static final String PNG_FILE = "report.png";

    /** Kept first (green), then one colour per stage that removes documents. */
    private static final Color[] SERIES_COLOURS = {new Color(0x4c9a2a), new Color(0x9e9e9e), new Color(0xd62728),
            new Color(0xff7f0e), new Color(0x9467bd), new Color(0x1f77b4), new Color(0x8c564b), new Color(0xe377c2)};

    private final Map<String, SourceCounts> stages = new LinkedHashMap<>();
    private final Map<String, Map<String, Long>> tokens = new LinkedHashMap<>(); // split → source → tokens
    private boolean stageTokens; // whether the stages' counts hold tokens (the tokenizer was known before the job)
    private final Map<String, Map<String, Long>> removedTokens = new LinkedHashMap<>(); // stage → source → tokens
    private FilterExpression filter;
    private Map<String, long[]> failing; // source → documents, reached the filter, failing clause 0, 1, ...

    /** Records the filter's clauses and, per source, the documents that reached it and failed each clause. */
    void filter(FilterExpression f, Map<String, long[]> failingBySource) {
        filter = f;
        failing = new java.util.TreeMap<>(failingBySource);
    }

    boolean hasFilter() {
        return filter != null;
    }

    /** The whole filter as one Spark SQL expression. */
    String filterExpression() {
        return String.join(" AND ", filter.clauses().stream().map(c -> "(" + c.sql() + ")").toList());
    }

    /** Per clause: its text, the option it came from, and the documents failing it (of those reaching the filter). */
    List<Map<String, Object>> filterClauses() {
        List<Map<String, Object>> out = new ArrayList<>();
        for (int i = 0; i < filter.clauses().size(); i++) {
            FilterExpression.Clause c = filter.clauses().get(i);
            Map<String, Object> bySource = new LinkedHashMap<>();
            long all = 0;
            for (Map.Entry<String, long[]> e : failing.entrySet()) {
                bySource.put(e.getKey(), e.getValue()[2 + i]);
                all += e.getValue()[2 + i];
            }
            out.add(fields("clause", c.sql(), "option", c.option(), "documents_failing", all, "by_source", bySource));
        }
        return out;
    }

    /** Documents that reached the filter, per source. */
    private long reached(String source) {
        long[] c = failing.get(source);
        return c == null ? 0 : c[1];
    }

    /**
     * A map of the given keys and values in their order: the manifest and report must not depend on Map.of's
     * iteration order, which changes from JVM to JVM.
     */
    static Map<String, Object> fields(Object... keysAndValues) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) m.put((String) keysAndValues[i], keysAndValues[i + 1]);
        return m;
    }

    /** Records what a stage let through; stages are reported in the order they are added, "read" first. */
    void stage(String name, SourceCounts after) {
        stages.put(name, after);
    }

    /** Whether the documents' tokens were counted, so that every stage reports tokens too. */
    void countsTokens(boolean counted) {
        stageTokens = counted;
    }

    /**
     * The tokens (as cleaned) of the documents the named stage removed, per source, when they were counted as they
     * left ({@link StageTokens}) rather than as they were read; {@link #keptTokens} then fills in every stage's.
     */
    void removedTokens(String stage, Map<String, Long> bySource) {
        removedTokens.put(stage, new java.util.TreeMap<>(bySource));
    }

    /**
     * Every stage's tokens from those of the documents the last stage let through (their cleaned text, per source)
     * and those each stage removed ({@link #removedTokens}): going back from the last stage, what a stage let through
     * is what the next let through plus what the next removed. Tokens of a source a stage let no document of through
     * would mean the counting is wrong.
     */
    void keptTokens(Map<String, Long> bySource) {
        List<String> names = stageNames();
        Map<String, Long> after = new java.util.TreeMap<>(bySource);
        for (int i = names.size() - 1; i >= 0; i--) {
            SourceCounts c = stages.get(names.get(i));
            for (String source : sources()) {
                long tokens = after.getOrDefault(source, 0L);
                long[] counts = c.bySource().get(source);
                if (tokens > 0 && (counts == null || counts[0] == 0)) {
                    throw new IllegalStateException("stage " + names.get(i) + " let through " + (counts == null ? 0 : counts[0])
                            + " documents of source " + source + " with " + tokens + " tokens");
                }
                if (counts != null) counts[2] = tokens;
            }
            if (i > 0) removedTokens.getOrDefault(names.get(i), Map.of()).forEach((k, v) -> after.merge(k, v, Long::sum));
        }
    }

    void tokens(String split, Map<String, Long> bySource) {
        tokens.put(split, new java.util.TreeMap<>(bySource));
    }

    List<String> stageNames() {
        return List.copyOf(stages.keySet());
    }

    long stageDocuments(String stage) {
        return stages.get(stage).documents();
    }

    List<String> sources() {
        TreeSet<String> all = new TreeSet<>();
        for (SourceCounts c : stages.values()) all.addAll(c.bySource().keySet());
        return List.copyOf(all);
    }

    /** Documents the named stage removed (what the stage before let through minus what it did). */
    long removed(String stage) {
        SourceCounts before = null;
        for (Map.Entry<String, SourceCounts> e : stages.entrySet()) {
            if (e.getKey().equals(stage)) return before == null ? 0 : before.documents() - e.getValue().documents();
            before = e.getValue();
        }
        return 0;
    }

    private long tokensOf(String source) {
        return tokens.values().stream().mapToLong(m -> m.getOrDefault(source, 0L)).sum();
    }

    /**
     * Per source: documents, bytes and (when counted) tokens after each stage, documents and tokens in (read)
     * and out (written), tokens per split. A stage's tokens are those of its documents' cleaned text, EOS included,
     * before frequent lines are removed; the tokens written are counted on the text written.
     */
    Map<String, Object> bySource() {
        Map<String, Object> out = new LinkedHashMap<>();
        SourceCounts read = stages.values().iterator().next();
        SourceCounts last = List.copyOf(stages.values()).getLast();
        for (String source : sources()) {
            Map<String, Object> s = new LinkedHashMap<>();
            s.put("documents_in", read.documents(source));
            s.put("bytes_in", read.bytes(source));
            if (stageTokens) s.put("tokens_in", read.tokens(source));
            s.put("documents_out", last.documents(source));
            s.put("bytes_out", last.bytes(source));
            s.put("tokens_out", tokensOf(source));
            for (Map.Entry<String, Map<String, Long>> t : tokens.entrySet()) {
                s.put("tokens_" + t.getKey(), t.getValue().getOrDefault(source, 0L));
            }
            Map<String, Object> perStage = new LinkedHashMap<>();
            for (Map.Entry<String, SourceCounts> e : stages.entrySet()) {
                SourceCounts c = e.getValue();
                perStage.put(e.getKey(), stageTokens
                        ? fields("documents", c.documents(source), "bytes", c.bytes(source), "tokens", c.tokens(source))
                        : fields("documents", c.documents(source), "bytes", c.bytes(source)));
            }
            s.put("after_stage", perStage);
            out.put(source, s);
        }
        return out;
    }

    /** A table: per source the documents read, removed by each stage, kept, and tokens written. */
    String table() {
        List<String> names = List.copyOf(stages.keySet());
        List<String> header = new ArrayList<>(List.of("source", names.getFirst()));
        for (String n : names.subList(1, names.size())) header.add("-" + n);
        header.add("kept");
        if (stageTokens) header.add("tokens read");
        header.add("tokens");
        List<List<String>> rows = new ArrayList<>();
        rows.add(header);
        List<String> sources = new ArrayList<>(sources());
        sources.add("(all)");
        for (String source : sources) {
            List<String> row = new ArrayList<>(List.of(source));
            long prev = -1;
            for (SourceCounts c : stages.values()) {
                long d = source.equals("(all)") ? c.documents() : c.documents(source);
                row.add(String.valueOf(prev < 0 ? d : prev - d));
                prev = d;
            }
            row.add(String.valueOf(prev));
            SourceCounts read = stages.values().iterator().next();
            if (stageTokens) row.add(String.valueOf(source.equals("(all)") ? read.tokens() : read.tokens(source)));
            row.add(String.valueOf(source.equals("(all)") ? sources().stream().mapToLong(this::tokensOf).sum() : tokensOf(source)));
            rows.add(row);
        }
        StringBuilder b = new StringBuilder("documents per source: read, removed by each stage, kept; "
                + (stageTokens ? "tokens read and written\n" : "tokens written\n"));
        format(rows, b);
        if (filter != null) clauseTable(b);
        return b.toString();
    }

    private static void format(List<List<String>> rows, StringBuilder b) {
        int[] width = new int[rows.getFirst().size()];
        for (List<String> r : rows) for (int i = 0; i < r.size(); i++) width[i] = Math.max(width[i], r.get(i).length());
        for (List<String> r : rows) {
            for (int i = 0; i < r.size(); i++) {
                String cell = r.get(i);
                b.append(i == 0 ? String.format("%-" + width[i] + "s", cell) : String.format("  %" + width[i] + "s", cell));
            }
            b.append('\n');
        }
    }

    /** Per clause and source: the documents failing it, of those that reached the filter (what a threshold costs). */
    private void clauseTable(StringBuilder b) {
        List<String> sources = List.copyOf(failing.keySet());
        List<List<String>> rows = new ArrayList<>();
        List<String> header = new ArrayList<>(List.of("clause (documents failing it)"));
        header.addAll(sources);
        header.add("(all)");
        rows.add(header);
        List<String> reachedRow = new ArrayList<>(List.of("reached the filter"));
        for (String s : sources) reachedRow.add(String.valueOf(reached(s)));
        reachedRow.add(String.valueOf(sources.stream().mapToLong(this::reached).sum()));
        rows.add(reachedRow);
        for (int i = 0; i < filter.clauses().size(); i++) {
            List<String> row = new ArrayList<>(List.of(filter.clauses().get(i).sql()));
            long all = 0;
            for (String s : sources) {
                long f = failing.get(s)[2 + i];
                row.add(String.valueOf(f));
                all += f;
            }
            row.add(String.valueOf(all));
            rows.add(row);
        }
        b.append("documents failing each clause of the filter, per source\n");
        format(rows, b);
    }

    /** Writes report.json (the given summary plus {@link #bySource()}) and report.png into {@code dir}. */
    void write(FileSystem fs, Path dir, Map<String, Object> summary) throws IOException {
        Map<String, Object> json = new LinkedHashMap<>(summary);
        json.put("stages", List.copyOf(stages.keySet()));
        json.put("sources", bySource());
        if (filter != null) {
            json.put("filter_expression", filterExpression());
            json.put("filter_clauses", filterClauses());
        }
        try (OutputStream out = fs.create(new Path(dir, JSON_FILE), false)) {
            out.write(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(json));
        }
        try (OutputStream out = fs.create(new Path(dir, PNG_FILE), false)) {
            out.write(png());
        }
    }

    /**
     * Two stacked bar charts, documents and tokens (bytes when the stages counted no tokens): per source, what
     * each stage removed and what was kept.
     */
    byte[] png() throws IOException {
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
        CombinedDomainCategoryPlot plot = new CombinedDomainCategoryPlot(new CategoryAxis("source"));
        CategoryPlot documents = stackedPlot(0, "documents");
        plot.add(documents);
        plot.add(stageTokens ? stackedPlot(2, "million tokens") : stackedPlot(1, "MB"));
        plot.setFixedLegendItems(documents.getLegendItems()); // the two plots share their series
        JFreeChart chart = new JFreeChart("kept and removed per stage", JFreeChart.DEFAULT_TITLE_FONT, plot, true);
        chart.setBackgroundPaint(Color.WHITE);
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        ChartUtils.writeChartAsPNG(png, chart, 900, 700);
        return png.toByteArray();
    }

    private CategoryPlot stackedPlot(int field, String unit) {
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        double scale = field == 0 ? 1 : 1e-6;
        List<Map.Entry<String, SourceCounts>> list = List.copyOf(stages.entrySet());
        for (String source : sources()) {
            data.addValue(value(list.getLast().getValue(), source, field) * scale, "kept", source);
            for (int i = 1; i < list.size(); i++) {
                long removed = value(list.get(i - 1).getValue(), source, field) - value(list.get(i).getValue(), source, field);
                data.addValue(removed * scale, "removed: " + list.get(i).getKey(), source);
            }
        }
        StackedBarRenderer bars = new StackedBarRenderer();
        bars.setBarPainter(new StandardBarPainter());
        bars.setShadowVisible(false);
        bars.setMaximumBarWidth(0.15);
        for (int i = 0; i < SERIES_COLOURS.length; i++) bars.setSeriesPaint(i, SERIES_COLOURS[i]);
        CategoryPlot p = new CategoryPlot(data, null, new NumberAxis(unit), bars);
        p.setOrientation(PlotOrientation.VERTICAL);
        p.setBackgroundPaint(Color.WHITE);
        p.setRangeGridlinePaint(Color.LIGHT_GRAY);
        return p;
    }

    private static long value(SourceCounts c, String source, int field) {
        return switch (field) {
            case 0 -> c.documents(source);
            case 1 -> c.bytes(source);
            default -> c.tokens(source);
        };
    }
}

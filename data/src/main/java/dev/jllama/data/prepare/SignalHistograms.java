package dev.jllama.data.prepare;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.StandardXYBarPainter;
import org.jfree.chart.renderer.xy.XYBarRenderer;
import org.jfree.chart.ui.RectangleAnchor;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.xy.XYBarDataset;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * The report's picture of each numeric signal: {@code histograms/COLUMN.png} beside the manifest, one histogram per
 * source over the documents that reached the filter, with every constant a clause compares the column with drawn
 * as a red line, so a person sees what a threshold costs. Only bin counts reach the driver: the range of every
 * column is one aggregation, the counts per source and bin one pass.
 */
final class SignalHistograms {
    private SignalHistograms() {}

    static final String DIR = "histograms";
    static final int BINS = 40;

    /** Writes one PNG per column under {@code dir}/histograms; returns the files' names relative to {@code dir}. */
    static List<String> write(Dataset<Row> table, List<String> columns, Map<String, TreeSet<Double>> thresholds,
                              FileSystem fs, Path dir) throws IOException {
        Dataset<Row> reached = table.filter(functions.col(AnnotationPass.REMOVED_BY).isNull()
                .or(functions.col(AnnotationPass.REMOVED_BY).equalTo(AnnotationPass.FILTER_STEP)));
        List<Column> ranges = new ArrayList<>();
        for (String c : columns) {
            ranges.add(functions.min(functions.col(c).cast("double")));
            ranges.add(functions.max(functions.col(c).cast("double")));
        }
        Row range = reached.agg(ranges.getFirst(), ranges.subList(1, ranges.size()).toArray(Column[]::new)).first();
        int k = columns.size();
        double[] lo = new double[k];
        double[] hi = new double[k];
        for (int i = 0; i < k; i++) {
            lo[i] = range.isNullAt(2 * i) ? 0 : range.getDouble(2 * i);
            hi[i] = range.isNullAt(2 * i + 1) ? 1 : range.getDouble(2 * i + 1);
            for (double t : thresholds.getOrDefault(columns.get(i), new TreeSet<>())) {
                lo[i] = Math.min(lo[i], t);
                hi[i] = Math.max(hi[i], t);
            }
            if (!(hi[i] > lo[i])) hi[i] = lo[i] + 1;
        }
        List<Column> selected = new ArrayList<>(List.of(functions.col("source")));
        for (String c : columns) selected.add(functions.col(c).cast("double"));
        HashMap<String, long[][]> counts = reached.select(selected.toArray(Column[]::new))
                .javaRDD()
                .aggregate(new HashMap<>(), (acc, r) -> {
                    long[][] h = acc.computeIfAbsent(r.getString(0), s -> new long[k][BINS]);
                    for (int i = 0; i < k; i++) {
                        if (r.isNullAt(i + 1)) continue;
                        double x = r.getDouble(i + 1);
                        if (Double.isNaN(x)) continue;
                        h[i][Math.clamp((long) ((x - lo[i]) / (hi[i] - lo[i]) * BINS), 0, BINS - 1)]++;
                    }
                    return acc;
                }, (a, b) -> {
                    HashMap<String, long[][]> m = new HashMap<>(a);
                    b.forEach((s, h) -> m.merge(s, h, (x, y) -> {
                        long[][] z = new long[k][BINS];
                        for (int i = 0; i < k; i++) for (int j = 0; j < BINS; j++) z[i][j] = x[i][j] + y[i][j];
                        return z;
                    }));
                    return m;
                });
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
        TreeMap<String, long[][]> bySource = new TreeMap<>(counts);
        List<String> files = new ArrayList<>();
        fs.mkdirs(new Path(dir, DIR));
        for (int i = 0; i < k; i++) {
            String name = DIR + "/" + columns.get(i) + ".png";
            try (OutputStream out = fs.create(new Path(dir, name), false)) {
                ChartUtils.writeChartAsPNG(out, chart(columns.get(i), i, lo[i], hi[i], bySource,
                        thresholds.getOrDefault(columns.get(i), new TreeSet<>())), 800, 120 + 220 * Math.max(1, bySource.size()));
            }
            files.add(name);
        }
        return files;
    }

    private static JFreeChart chart(String column, int index, double lo, double hi, Map<String, long[][]> bySource,
                                    TreeSet<Double> thresholds) {
        double width = (hi - lo) / BINS;
        CombinedDomainXYPlot plot = new CombinedDomainXYPlot(new NumberAxis(column));
        for (Map.Entry<String, long[][]> e : bySource.entrySet()) {
            XYSeries series = new XYSeries(e.getKey());
            for (int j = 0; j < BINS; j++) series.add(lo + (j + 0.5) * width, e.getValue()[index][j]);
            XYBarRenderer bars = new XYBarRenderer();
            bars.setBarPainter(new StandardXYBarPainter());
            bars.setShadowVisible(false);
            bars.setSeriesPaint(0, new Color(0x1f77b4));
            XYPlot p = new XYPlot(new XYBarDataset(new XYSeriesCollection(series), width), null,
                    new NumberAxis(e.getKey() + ": documents"), bars);
            p.setBackgroundPaint(Color.WHITE);
            p.setRangeGridlinePaint(Color.LIGHT_GRAY);
            for (double t : thresholds) {
                ValueMarker m = new ValueMarker(t, Color.RED, new BasicStroke(2f));
                m.setLabel("threshold " + t);
                m.setLabelAnchor(RectangleAnchor.TOP_RIGHT);
                m.setLabelTextAnchor(TextAnchor.TOP_LEFT);
                p.addDomainMarker(m);
            }
            plot.add(p);
        }
        JFreeChart chart = new JFreeChart(column + " per source, documents reaching the filter",
                JFreeChart.DEFAULT_TITLE_FONT, plot, false);
        chart.setBackgroundPaint(Color.WHITE);
        return chart;
    }
}

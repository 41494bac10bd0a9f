package dev.jllama.data.prepare;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.OutputStream;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.StandardXYBarPainter;
import org.jfree.chart.renderer.xy.XYBarRenderer;
import org.jfree.chart.ui.RectangleAnchor;
import org.jfree.chart.ui.RectangleInsets;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.xy.XYBarDataset;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;
import scala.Tuple2;

/**
 * The report's picture of each numeric signal: {@code histograms/COLUMN.png} beside the manifest, one histogram per
 * source over the documents that reached the filter, with every constant a clause compares the column with drawn
 * as a red line, so a person sees what a threshold costs. Only bin counts reach the driver.
 */
final class SignalHistograms {
    private SignalHistograms() {}

    static final String DIR = "histograms";
    static final int BINS = 40;
    /** A chart's size in pixels: its width, the title and axis band, and the height of each source's histogram. */
    private static final int WIDTH = 640, TITLE_HEIGHT = 100, SOURCE_HEIGHT = 160;

    /** Bin counts per source and column over [lo, hi] of each column (thresholds included in the range). */
    record Bins(double[] lo, double[] hi, TreeMap<String, long[][]> bySource) {}

    /**
     * The bins' range of each column: its values' [min, max] widened to take in every threshold a clause compares
     * it with; [0, 1] for a column without values, one unit wide for a single value. Returns {lo, hi}.
     */
    static double[][] ranges(double[] min, double[] max, List<String> columns, Map<String, TreeSet<Double>> thresholds) {
        int k = columns.size();
        double[] lo = new double[k];
        double[] hi = new double[k];
        for (int i = 0; i < k; i++) {
            lo[i] = min[i] == Double.POSITIVE_INFINITY ? 0 : min[i];
            hi[i] = max[i] == Double.NEGATIVE_INFINITY ? 1 : max[i];
            for (double t : thresholds.getOrDefault(columns.get(i), new TreeSet<>())) {
                lo[i] = Math.min(lo[i], t);
                hi[i] = Math.max(hi[i], t);
            }
            if (!(hi[i] > lo[i])) hi[i] = lo[i] + 1;
        }
        return new double[][] {lo, hi};
    }

    /**
     * Counts the values (per document: its source and one value per column, NaN for none) into {@link #BINS} bins
     * per column over [lo, hi] ({@link #ranges}), in one pass; only the counts reach the driver.
     */
    static Bins count(JavaRDD<Tuple2<String, double[]>> values, double[] lo, double[] hi) {
        int k = lo.length;
        HashMap<String, long[][]> counts = values.aggregate(new HashMap<>(), (acc, t) -> {
            long[][] h = acc.computeIfAbsent(t._1(), s -> new long[k][BINS]);
            double[] v = t._2();
            for (int i = 0; i < k; i++) {
                if (Double.isNaN(v[i])) continue;
                h[i][Math.clamp((long) ((v[i] - lo[i]) / (hi[i] - lo[i]) * BINS), 0, BINS - 1)]++;
            }
            return acc;
        }, (a, b) -> {
            HashMap<String, long[][]> m = new HashMap<>(a);
            b.forEach((source, h) -> m.merge(source, h, (x, y) -> {
                long[][] z = new long[k][BINS];
                for (int i = 0; i < k; i++) for (int j = 0; j < BINS; j++) z[i][j] = x[i][j] + y[i][j];
                return z;
            }));
            return m;
        });
        return new Bins(lo, hi, new TreeMap<>(counts));
    }

    /** The pictures' names, relative to the directory {@link #write} is given: one per column. */
    static List<String> files(List<String> columns) {
        return columns.stream().map(c -> DIR + "/" + c + ".png").toList();
    }

    /** Writes one PNG per column under {@code dir}/{@link #files}. */
    static void write(Bins bins, List<String> columns, Map<String, TreeSet<Double>> thresholds, FileSystem fs, Path dir)
            throws IOException {
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
        fs.mkdirs(new Path(dir, DIR));
        List<String> files = files(columns);
        int height = TITLE_HEIGHT + SOURCE_HEIGHT * Math.max(1, bins.bySource().size());
        // The charts are independent: drawn in parallel.
        try {
            java.util.stream.IntStream.range(0, columns.size()).parallel().forEach(i -> {
                BufferedImage image = chart(columns.get(i), i, bins.lo()[i], bins.hi()[i], bins.bySource(),
                        thresholds.getOrDefault(columns.get(i), new TreeSet<>()))
                        .createBufferedImage(WIDTH, height, BufferedImage.TYPE_INT_RGB, null);
                try (OutputStream out = fs.create(new Path(dir, files.get(i)), false)) {
                    writePng(image, out);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
        } catch (java.io.UncheckedIOException e) {
            throw e.getCause();
        }
    }

    /**
     * Encodes with the JDK's PNG writer at deflate level 1, opaque RGB: half the time of JFreeChart's own encoder
     * (which took most of the drawing's time), for pictures a tenth larger.
     */
    private static void writePng(BufferedImage image, OutputStream out) throws IOException {
        ImageWriter writer = ImageIO.getImageWritersByFormatName("png").next();
        ImageWriteParam param = writer.getDefaultWriteParam();
        param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
        param.setCompressionQuality(0.9f); // the writer's deflate level: 9 - round(9 x quality) = 1
        try (ImageOutputStream stream = ImageIO.createImageOutputStream(out)) {
            writer.setOutput(stream);
            writer.write(null, new IIOImage(image, null, null), param);
        } finally {
            writer.dispose();
        }
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
        chart.setPadding(new RectangleInsets(4, 4, 4, 20)); // room for the last tick label at the right edge
        return chart;
    }
}

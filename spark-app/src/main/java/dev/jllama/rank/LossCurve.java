package dev.jllama.rank;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.List;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * The loss-curve picture of a run ({@code loss.png}): training loss per step and validation loss against tokens
 * seen, the learning rate on a second axis. Rendered off screen into PNG bytes, so that it can be written to any
 * Hadoop FileSystem.
 */
final class LossCurve {
    static final String FILE = "loss.png";
    static final int WIDTH = 1000;
    static final int HEIGHT = 600;

    static {
        // A training process never opens a window: render without a display (executors, ssh sessions, containers).
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
    }

    private LossCurve() {}

    /** PNG bytes of {@link #WIDTH} x {@link #HEIGHT} pixels. */
    static byte[] png(String title, List<StepMetrics> steps, List<MetricsLog.Validation> validations)
            throws IOException {
        XYSeries train = new XYSeries("training loss", false, true);
        XYSeries lr = new XYSeries("learning rate", false, true);
        for (StepMetrics m : steps) {
            train.add(m.tokens(), m.loss(), false);
            lr.add(m.tokens(), m.lr(), false);
        }
        XYSeries validation = new XYSeries("validation loss", false, true);
        for (MetricsLog.Validation v : validations) validation.add(v.tokens(), v.valLoss(), false);

        NumberAxis tokens = new NumberAxis("tokens");
        tokens.setAutoRangeIncludesZero(false);
        NumberAxis loss = new NumberAxis("loss (nats per token)");
        loss.setAutoRangeIncludesZero(false);
        XYLineAndShapeRenderer lines = new XYLineAndShapeRenderer(true, false);
        lines.setSeriesPaint(0, new Color(0x1f77b4));
        lines.setSeriesStroke(0, new BasicStroke(1.5f));
        XYLineAndShapeRenderer points = new XYLineAndShapeRenderer(true, true);
        points.setSeriesPaint(0, new Color(0xd62728));
        points.setSeriesStroke(0, new BasicStroke(2f));
        XYPlot plot = new XYPlot(new XYSeriesCollection(train), tokens, loss, lines);
        plot.setDataset(1, new XYSeriesCollection(validation));
        plot.setRenderer(1, points);

        NumberAxis rate = new NumberAxis("learning rate");
        XYLineAndShapeRenderer schedule = new XYLineAndShapeRenderer(true, false);
        schedule.setDrawSeriesLineAsPath(true); // one path, so that the dashes run on across the points
        schedule.setSeriesPaint(0, new Color(0x7f7f7f));
        schedule.setSeriesStroke(0, new BasicStroke(1f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f,
                new float[] {6f, 4f}, 0f));
        plot.setRangeAxis(1, rate);
        plot.setDataset(2, new XYSeriesCollection(lr));
        plot.setRenderer(2, schedule);
        plot.mapDatasetToRangeAxis(2, 1);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);

        JFreeChart chart = new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT, plot, true);
        chart.setBackgroundPaint(Color.WHITE);
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        ChartUtils.writeChartAsPNG(png, chart, WIDTH, HEIGHT);
        return png.toByteArray();
    }
}

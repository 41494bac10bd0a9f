package dev.jllama.rank;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/** The loss-curve picture is a PNG of the stated size with the training loss drawn in it. */
class LossCurveTest {

    @Test
    void pngOfTheStatedSizeWithTheLossCurveDrawn() throws Exception {
        List<StepMetrics> steps = new ArrayList<>();
        for (int s = 1; s <= 200; s++) {
            double lr = s <= 20 ? 1e-3 * s / 20 : 1e-4 + 0.9e-3 * 0.5 * (1 + Math.cos(Math.PI * (s - 20) / 180.0));
            steps.add(new StepMetrics(s, 2048L * s, 8.3 * Math.exp(-s / 100.0) + 2, lr, 1, 1000, null, 1, 0, 0, 1.7e9 + s));
        }
        List<MetricsLog.Validation> validations = List.of(new MetricsLog.Validation(100, 204800, 5.3, 200.3, 2.1, 1.7e9 + 100),
                new MetricsLog.Validation(200, 409600, 3.4, 30.0, 1.5, 1.7e9 + 200));
        byte[] png = LossCurve.png("run", steps, validations);
        assertEquals("\u0089PNG", new String(png, 0, 4, java.nio.charset.StandardCharsets.ISO_8859_1), "PNG signature");
        BufferedImage image = ImageIO.read(new ByteArrayInputStream(png));
        assertEquals(LossCurve.WIDTH, image.getWidth());
        assertEquals(LossCurve.HEIGHT, image.getHeight());
        // Pixels of the two losses' colours (antialiased, so near them) above the legend: the training loss falls
        // from the top left to the bottom right, and the validation points are drawn.
        int lossPixels = 0, validationPixels = 0, topX = -1, topY = Integer.MAX_VALUE, bottomX = -1, bottomY = -1;
        for (int y = 0; y < image.getHeight() - 60; y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                int rgb = image.getRGB(x, y), r = rgb >> 16 & 0xff, g = rgb >> 8 & 0xff, b = rgb & 0xff;
                if (near(r, g, b, 0x1f, 0x77, 0xb4)) {
                    lossPixels++;
                    if (y < topY) { topY = y; topX = x; }
                    if (y > bottomY) { bottomY = y; bottomX = x; }
                }
                if (near(r, g, b, 0xd6, 0x27, 0x28)) validationPixels++;
            }
        }
        assertTrue(lossPixels > 500, "training-loss pixels: " + lossPixels);
        assertTrue(topX < bottomX && bottomY - topY > HEIGHT_OF_FALL, "the loss falls: top (" + topX + "," + topY
                + "), bottom (" + bottomX + "," + bottomY + ")");
        assertTrue(validationPixels > 20, "validation-loss pixels: " + validationPixels);
    }

    private static final int HEIGHT_OF_FALL = 300;

    private static boolean near(int r, int g, int b, int r0, int g0, int b0) {
        return Math.abs(r - r0) < 40 && Math.abs(g - g0) < 40 && Math.abs(b - b0) < 40;
    }
}

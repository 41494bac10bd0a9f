package dev.jllama.model.optim;

/**
 * LLaMA's learning-rate schedule: linear warm-up from 0 to {@code peak} over {@code warmupSteps}, then cosine
 * decay to {@code minRatio * peak} at {@code totalSteps}, constant after.
 */
public record LrSchedule(double peak, int warmupSteps, int totalSteps, double minRatio) {

    public LrSchedule {
        if (peak <= 0) throw new IllegalArgumentException("learning rate must be positive, got " + peak);
        if (warmupSteps < 0) throw new IllegalArgumentException("warm-up steps must be >= 0, got " + warmupSteps);
        if (totalSteps <= 0) throw new IllegalArgumentException("total steps must be positive, got " + totalSteps);
    }

    /** Learning rate of step {@code step} (0-based). */
    public double at(int step) {
        if (step < warmupSteps) return peak * (step + 1) / warmupSteps;
        double min = peak * minRatio;
        if (step >= totalSteps) return min;
        double progress = (double) (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
        return min + 0.5 * (peak - min) * (1 + Math.cos(Math.PI * progress));
    }
}

package dev.jllama.model.backend;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.Map;
import java.util.TreeMap;

/**
 * Wraps a backend and adds up the wall time spent in each kernel, for {@code bench --profile}. Accurate only for
 * synchronous backends (the CPU backend); an asynchronous one charges queued work to the call that waits for it.
 */
public final class KernelProfiler {
    private final Map<String, long[]> totals = new TreeMap<>();
    private final Backend profiled;

    public KernelProfiler(Backend backend) {
        InvocationHandler handler = (proxy, method, args) -> {
            long start = System.nanoTime();
            try {
                return method.invoke(backend, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            } finally {
                long[] t = totals.computeIfAbsent(method.getName(), k -> new long[2]);
                t[0] += System.nanoTime() - start;
                t[1]++;
            }
        };
        profiled = (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, handler);
    }

    public Backend backend() {
        return profiled;
    }

    public void reset() {
        totals.clear();
    }

    /** Kernel name to {seconds, calls}. */
    public Map<String, double[]> totals() {
        Map<String, double[]> out = new TreeMap<>();
        totals.forEach((name, t) -> out.put(name, new double[] {t[0] / 1e9, t[1]}));
        return out;
    }
}

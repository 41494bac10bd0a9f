package dev.jllama.tornado;

import uk.ac.manchester.tornado.api.TornadoBackend;
import uk.ac.manchester.tornado.api.common.TornadoDevice;
import uk.ac.manchester.tornado.api.runtime.TornadoRuntimeProvider;

/** The devices of TornadoVM's default backend (the first one listed by {@code tornado --devices}). */
final class TornadoDevices {
    private TornadoDevices() {}

    static int count() {
        var runtime = TornadoRuntimeProvider.getTornadoRuntime();
        if (runtime.getNumBackends() == 0) return 0;
        return runtime.getBackend(0).getNumDevices();
    }

    /** @param index the device index (Spark's GPU address), or -1 for the backend's default device */
    static TornadoDevice device(int index) {
        TornadoBackend backend = TornadoRuntimeProvider.getTornadoRuntime().getBackend(0);
        if (index < 0) return backend.getDefaultDevice();
        if (index >= backend.getNumDevices()) {
            throw new IllegalArgumentException("TornadoVM device index " + index + " does not exist: backend "
                    + backend.getName() + " has " + backend.getNumDevices() + " device(s)");
        }
        return backend.getDevice(index);
    }

    /** One line per device, like {@code tornado --devices}. */
    static String describe() {
        StringBuilder out = new StringBuilder();
        var runtime = TornadoRuntimeProvider.getTornadoRuntime();
        for (int b = 0; b < runtime.getNumBackends(); b++) {
            TornadoBackend backend = runtime.getBackend(b);
            for (int d = 0; d < backend.getNumDevices(); d++) {
                TornadoDevice device = backend.getDevice(d);
                out.append("backend ").append(b).append(" (").append(backend.getName()).append(") device ").append(d)
                        .append(": ").append(device.getPhysicalDevice().getDeviceName())
                        .append(", type ").append(device.getDeviceType())
                        .append(", global memory ").append(device.getPhysicalDevice().getDeviceGlobalMemorySize() >> 20)
                        .append(" MiB, max allocation ").append(device.getMaxAllocMemory() >> 20).append(" MiB\n");
            }
        }
        return out.toString();
    }
}

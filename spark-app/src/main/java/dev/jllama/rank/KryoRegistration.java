package dev.jllama.rank;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.serializer.KryoRegistrator;

/**
 * The classes that cross between the driver and the barrier tasks as data, for Spark's Kryo serializer (named in
 * {@code spark.kryo.registrator}; the tests run with {@code spark.kryo.registrationRequired=true}). The stage takes
 * the ranks' ids, which Spark's own registrations cover, and returns one {@link RankResult} per rank, collected as
 * an array. The plan travels inside the task's function, which Spark serialises with Java serialisation.
 */
public final class KryoRegistration implements KryoRegistrator {

    @Override
    public void registerClasses(Kryo kryo) {
        kryo.register(RankResult.class, new RankResultSerializer());
        kryo.register(RankResult[].class);
    }

    /**
     * A record's fields one by one: Kryo's field serializer cannot set a record's final fields, and the lists in a
     * result are JDK immutable lists, which it cannot build either. The per-dataset proportions go as JSON.
     */
    static final class RankResultSerializer extends Serializer<RankResult> {
        private static final ObjectMapper MAPPER = new ObjectMapper();

        @Override
        public void write(Kryo kryo, Output out, RankResult r) {
            out.writeInt(r.rank());
            out.writeString(r.host());
            out.writeInt(r.gpus().size());
            for (String gpu : r.gpus()) out.writeString(gpu);
            out.writeString(r.backend());
            out.writeString(r.device());
            out.writeInt(r.startStep());
            out.writeInt(r.steps());
            writeNullable(out, r.finalLoss());
            writeNullable(out, r.tokensPerS());
            writeNullable(out, r.valLoss());
            out.writeLong(r.parameters());
            out.writeLong(r.activationBytes());
            out.writeLong(r.momentBytes());
            out.writeDouble(r.commWaitSeconds());
            try {
                out.writeString(MAPPER.writeValueAsString(r.data()));
            } catch (JsonProcessingException e) {
                throw new IllegalStateException("rank " + r.rank() + ": cannot write its data proportions " + r.data(), e);
            }
            out.writeString(r.checkpoint());
        }

        @Override
        public RankResult read(Kryo kryo, Input in, Class<RankResult> type) {
            int rank = in.readInt();
            String host = in.readString();
            int gpuCount = in.readInt();
            List<String> gpus = new ArrayList<>(gpuCount);
            for (int i = 0; i < gpuCount; i++) gpus.add(in.readString());
            String backend = in.readString();
            String device = in.readString();
            int startStep = in.readInt();
            int steps = in.readInt();
            Double finalLoss = readNullable(in);
            Double tokensPerS = readNullable(in);
            Double valLoss = readNullable(in);
            long parameters = in.readLong();
            long activationBytes = in.readLong();
            long momentBytes = in.readLong();
            double commWait = in.readDouble();
            String dataJson = in.readString();
            Map<String, Object> data;
            try {
                data = MAPPER.readValue(dataJson, new TypeReference<LinkedHashMap<String, Object>>() {});
            } catch (JsonProcessingException e) {
                throw new IllegalStateException("rank " + rank + ": unreadable data proportions " + dataJson, e);
            }
            return new RankResult(rank, host, List.copyOf(gpus), backend, device, startStep, steps, finalLoss, tokensPerS,
                    valLoss, parameters, activationBytes, momentBytes, commWait, data, in.readString());
        }

        private static void writeNullable(Output out, Double value) {
            out.writeBoolean(value != null);
            if (value != null) out.writeDouble(value);
        }

        private static Double readNullable(Input in) {
            return in.readBoolean() ? in.readDouble() : null;
        }
    }
}

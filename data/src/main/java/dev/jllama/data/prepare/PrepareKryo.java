package dev.jllama.data.prepare;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import com.esotericsoftware.kryo.serializers.JavaSerializer;
import dev.jllama.data.SparkKryo;
import dev.jllama.data.shard.ShardInfo;
import java.util.HashMap;
import java.util.List;
import java.util.TreeMap;
import org.apache.spark.SparkConf;
import org.apache.spark.serializer.KryoRegistrator;
import org.apache.spark.sql.types.BooleanType$;

/**
 * The preparation job's records for Spark's Kryo serializer. Every document is persisted after each step and
 * shuffled by exact dedup; under Java serialisation (whose stream Spark resets every 100 objects, so class
 * descriptors are written again and again, and fields are set by reflection) that was a sixth of executor time.
 * A document and a judged document have serializers of their own, the text as the UTF-8 bytes the document
 * holds (lossless: see {@link Doc.Form}), not decoded until a step reads it; any other record goes through its Java serialisation, since Kryo's field serializer cannot
 * set a record's final fields. A job run under Java serialisation gives the same output.
 */
public final class PrepareKryo implements KryoRegistrator {

    /** Kryo for the job unless the configuration names another serializer; this registrator added. */
    public static SparkConf configure(SparkConf conf) {
        // Kryo's buffer for one record stops at 64 MB by default; Java serialisation took a document of any size.
        conf.setIfMissing("spark.kryoserializer.buffer.max", "1g");
        return SparkKryo.use(conf, PrepareKryo.class);
    }

    @Override
    public void registerClasses(Kryo kryo) {
        kryo.addDefaultSerializer(Record.class, new JavaSerializer());
        kryo.register(Doc.class, new DocSerializer());
        kryo.register(Judged.class, new JudgedSerializer());
        // What else crosses as data (under spark.kryo.registrationRequired every class must be registered): the
        // inputs and task files shipped to tasks, the per-partition tallies and part files collected, the shard
        // plans, the frequent-line sets, and a filter clause's type. Small and few: Java serialisation.
        for (Class<?> c : List.of(DocumentInput.InputFile.class, Decontamination.Tasks.class, ShardAssembly.Part.class,
                ShardAssembly.ShardPlan.class, ShardInfo.class)) {
            kryo.register(c); // records: the default above
        }
        for (Class<?> c : List.of(FilterTally.class, Counts.class, BooleanType$.class)) kryo.register(c, new JavaSerializer());
        kryo.register(HashMap.class);
        kryo.register(TreeMap.class);
        kryo.register(long[][].class);
    }

    private static final class DocSerializer extends Serializer<Doc> {
        @Override
        public void write(Kryo kryo, Output out, Doc d) {
            out.writeString(d.key());
            out.writeDouble(d.draw());
            out.writeString(d.source());
            out.writeString(d.location());
            byte[] text = d.utf8();
            out.writeVarInt(text.length, true);
            out.writeBytes(text);
            out.writeString(d.removedBy());
            out.writeString(d.exactGroup());
            out.writeString(d.nearGroup());
            out.writeVarInt(d.tokens(), true);
        }

        @Override
        public Doc read(Kryo kryo, Input in, Class<Doc> type) {
            String key = in.readString();
            double draw = in.readDouble();
            String source = in.readString();
            String location = in.readString();
            byte[] text = in.readBytes(in.readVarInt(true));
            return Doc.fromUtf8(key, draw, source, location, text, in.readString(), in.readString(), in.readString(),
                    in.readVarInt(true));
        }
    }

    private static final class JudgedSerializer extends Serializer<Judged> {
        private static final QualityFilter.Verdict[] VERDICTS = QualityFilter.Verdict.values();

        @Override
        public void write(Kryo kryo, Output out, Judged j) {
            kryo.writeObject(out, j.doc());
            out.writeVarInt(j.verdict().ordinal(), true);
            out.writeBoolean(j.emptied());
            out.writeVarInt(j.lines(), true);
            out.writeVarInt(j.linesRemoved(), true);
        }

        @Override
        public Judged read(Kryo kryo, Input in, Class<Judged> type) {
            Doc doc = kryo.readObject(in, Doc.class);
            return new Judged(doc, VERDICTS[in.readVarInt(true)], in.readBoolean(), in.readVarInt(true), in.readVarInt(true));
        }
    }
}

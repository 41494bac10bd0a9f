package dev.jllama.data.prepare;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import org.apache.spark.SparkConf;
import org.apache.spark.serializer.KryoSerializer;
import org.apache.spark.serializer.SerializerInstance;
import org.junit.jupiter.api.Test;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;

/**
 * A document comes back from Java serialisation (its {@link Doc.Form}) and from the job's Kryo serializer
 * ({@link PrepareKryo}) equal to what went in, and its token ids from {@link PackedIds}.
 */
class DocFormTest {

    @Test
    void roundTripsEveryField() throws Exception {
        Doc plain = Doc.of(new Document("web", "a.jsonl:7", "héllo wörld 😀 — text"));
        assertEquals(plain, roundTrip(plain));
        Doc tagged = plain.removedBy("near_dedup").groups(plain.key(), "0123456789abcdef").counted(new int[] {3, 70_000, 0, 255});
        assertEquals(tagged, roundTrip(tagged));
    }

    @Test
    void roundTripsLongStringsAndUnpairedSurrogatesOutsideTheText() throws Exception {
        String longText = "ü".repeat(70_000) + "😀".repeat(30_000); // past writeUTF's 65,535 bytes
        String longLocation = "\uD800" + "€".repeat(30_000) + "\uDFFF"; // unpaired surrogates, over 65,535 bytes
        Doc d = new Doc("00ff", 0.25, "books", longLocation, longText);
        assertEquals(d, roundTrip(d));
    }

    @Test
    void roundTripsThroughTheJobsKryoSerializer() {
        SerializerInstance kryo = new KryoSerializer(PrepareKryo.configure(new SparkConf(false))).newInstance();
        ClassTag<Object> any = ClassTag$.MODULE$.AnyRef();
        Doc plain = Doc.of(new Document("web", "a.jsonl:7", "héllo wörld 😀 — text"));
        Doc tagged = plain.removedBy("near_dedup").groups(plain.key(), null).counted(new int[] {1, 2, 65_535});
        for (Object o : java.util.List.of(plain, tagged, new Judged(tagged, QualityFilter.Verdict.TOO_SYMBOLIC, false, 7, 2))) {
            assertEquals(o, kryo.deserialize(kryo.serialize(o, any), any));
        }
    }

    @Test
    void packedIdsComeBackInEveryWidth() {
        for (int[] ids : new int[][] {{}, {0, 255}, {256, 1, 65_535}, {70_000, 0}, {Integer.MAX_VALUE, 5}}) {
            byte[] packed = PackedIds.pack(ids);
            org.junit.jupiter.api.Assertions.assertArrayEquals(ids, PackedIds.unpack(packed));
            int largest = java.util.Arrays.stream(ids).max().orElse(0);
            int width = largest < 1 << 8 ? 1 : largest < 1 << 16 ? 2 : largest < 1 << 24 ? 3 : 4;
            assertEquals(1 + width * ids.length, packed.length, java.util.Arrays.toString(ids));
        }
        Doc d = Doc.of(new Document("web", "x", "two words")).counted(new int[] {9, 4000});
        assertEquals(3, d.tokens(), "EOS counted");
        org.junit.jupiter.api.Assertions.assertArrayEquals(new int[] {9, 4000}, d.textIds());
        assertEquals(d.ids(), d.withText("two words").ids(), "the same text keeps its ids");
        assertEquals(null, d.withText("two").textIds(), "another text loses them");
        assertEquals(3, d.withText("two").tokens(), "and keeps its count as read");
    }

    private static Doc roundTrip(Doc d) throws IOException, ClassNotFoundException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(d);
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            return (Doc) in.readObject();
        }
    }
}

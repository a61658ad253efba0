package locallearn.backend;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import locallearn.tensor.DType;
import locallearn.tensor.Scope;
import locallearn.tensor.Shape;
import locallearn.tensor.Tensor;

/**
 * One wrong call per kind of argument check of {@link CheckedBackend}, at least one per op, each
 * named by its op and what is wrong: run
 * on any backend, each must throw IllegalArgumentException, and the messages are what
 * CheckedBackendTest pins on the CPU and EmulatedGpuMain compares between the CPU and the CUDA
 * backend. Includes the checks that only one of the two backends made before the boundary was
 * shared (countCorrect's "no classes", the shift of channelAffine, ...).
 */
public final class BadArguments {
    private BadArguments() {}

    private static final Map<String, Consumer<Backend>> CALLS = new LinkedHashMap<>();

    private static void call(String name, Consumer<Backend> body) { CALLS.put(name, body); }

    static {
        ConvGeom g = new ConvGeom(2, 3, 8, 8, 4, 3, 3, 1, 1);
        PoolGeom pg = PoolGeom.square(1, 2, 5, 5, 2, 2);
        call("fill null", be -> be.fill(null, 1f));
        call("scale released", be -> {
            Tensor x = be.allocate(3);
            x.close();
            be.scale(x, 2f);
        });
        call("write length", be -> be.write(be.allocate(2, 2), new float[3]));
        call("copy sizes", be -> be.copy(be.allocate(3), be.allocate(4)));
        call("copyRange bounds", be -> be.copyRange(be.allocate(5), 3, be.allocate(5), 0, 3));
        call("axpy sizes", be -> be.axpy(1f, be.allocate(3), be.allocate(4)));
        call("multiply sizes", be -> be.multiply(be.allocate(3), be.allocate(4), be.allocate(3), false));
        call("multiply out", be -> be.multiply(be.allocate(3), be.allocate(3), be.allocate(2), true));
        // dtypes: an op's activations share one, a product's operands too, parameters are float32
        call("multiply dtypes", be -> be.multiply(be.allocate(new Shape(3), DType.BF16), be.allocate(new Shape(3), DType.BF16), be.allocate(3), false));
        call("gemm dtypes", be -> be.gemm(false, false, 2, 2, 2, 1f, be.allocate(new Shape(4), DType.BF16), be.allocate(4), 0f, be.allocate(4)));
        call("sgdStep dtypes", be -> be.sgdStep(be.allocate(3), be.allocate(new Shape(3), DType.BF16), null, 0.1f, 0f, 0f, true));
        call("sum out", be -> be.sum(be.allocate(3), be.allocate(2), false));
        call("channelSum rank", be -> be.channelSum(be.allocate(6), null, be.allocate(6), false));
        call("channelSum out", be -> be.channelSum(be.allocate(2, 3, 4), null, be.allocate(4), false));
        call("channelSum weight", be -> be.channelSum(be.allocate(2, 3, 4), be.allocate(2, 3), be.allocate(3), false));
        call("countCorrect rank", be -> be.countCorrect(be.allocate(12), be.allocate(12), be.allocate(1), false));
        call("countCorrect labels", be -> be.countCorrect(be.allocate(4, 3), be.allocate(3), be.allocate(1), false));
        call("countCorrect no classes", be -> be.countCorrect(be.allocate(3, 0), be.allocate(3), be.allocate(1), false));
        call("leakyReluForward sizes", be -> be.leakyReluForward(be.allocate(3), be.allocate(4), 0.1f));
        call("leakyReluBackward sizes", be -> be.leakyReluBackward(be.allocate(3), be.allocate(3), be.allocate(4), 0.1f));
        call("biasAdd bias", be -> be.biasAdd(be.allocate(2, 5, 3), be.allocate(4)));
        call("biasBackward rank", be -> be.biasBackward(be.allocate(5), be.allocate(5), false));
        call("gemm sizes", be -> be.gemm(false, false, 4, 5, -1, 1f, be.allocate(4, 5), be.allocate(6, 5), 0f, be.allocate(4, 5)));
        call("gemm a", be -> be.gemm(false, false, 4, 5, 6, 1f, be.allocate(4, 5), be.allocate(6, 5), 0f, be.allocate(4, 5)));
        call("gemm c strided", be -> be.gemm(false, false, 2, 2, 2, 1f, be.allocate(8), be.allocate(8), 0f, be.allocate(7), 2, 4, 4, 4));
        call("conv2dForward x", be -> be.conv2dForward(be.allocate(2, 3, 8, 7), be.allocate(4, 3, 3, 3), null, be.allocate(2, 4, 8, 8), g));
        call("conv2dForward bias", be -> be.conv2dForward(be.allocate(2, 3, 8, 8), be.allocate(4, 3, 3, 3), be.allocate(3), be.allocate(2, 4, 8, 8), g));
        call("conv2dBackwardData dx", be -> be.conv2dBackwardData(be.allocate(2, 4, 8, 8), be.allocate(4, 3, 3, 3), be.allocate(2, 3, 8, 9), g));
        call("conv2dBackwardFilter dw", be -> be.conv2dBackwardFilter(be.allocate(2, 3, 8, 8), be.allocate(2, 4, 8, 8), be.allocate(4, 2, 3, 3), null, g, false));
        call("batchNormForwardTrain one value", be -> be.batchNormForwardTrain(be.allocate(1, 3), be.allocate(3), be.allocate(3), be.allocate(3),
                be.allocate(3), 0.1f, 1e-5f, be.allocate(1, 3), be.allocate(3), be.allocate(3)));
        call("batchNormForwardTrain runningVar", be -> be.batchNormForwardTrain(be.allocate(4, 3), be.allocate(3), be.allocate(3), be.allocate(3),
                be.allocate(2), 0.1f, 1e-5f, be.allocate(4, 3), be.allocate(3), be.allocate(3)));
        call("batchNormForwardEval y", be -> be.batchNormForwardEval(be.allocate(4, 3), be.allocate(3), be.allocate(3), be.allocate(3),
                be.allocate(3), 1e-5f, be.allocate(4, 2)));
        call("batchNormBackward dbeta", be -> be.batchNormBackward(be.allocate(4, 3), be.allocate(4, 3), be.allocate(3), be.allocate(3),
                be.allocate(3), be.allocate(4, 3), be.allocate(3), be.allocate(4), false));
        call("dropoutForward p", be -> be.dropoutForward(be.allocate(10), be.allocate(10), 1.5f, 1, 1, 1));
        call("dropoutBackward inner", be -> be.dropoutBackward(be.allocate(10), be.allocate(10), 0.5f, 1, 1, 3));
        call("maxPoolForward y", be -> be.maxPoolForward(be.allocate(1, 2, 5, 5), be.allocate(1, 2, 3, 3), pg));
        call("maxPoolBackward dx", be -> be.maxPoolBackward(be.allocate(1, 2, 5, 5), be.allocate(1, 2, 2, 2), be.allocate(1, 2, 4, 4), pg));
        call("avgPoolForward x", be -> be.avgPoolForward(be.allocate(1, 3, 5, 5), be.allocate(1, 2, 2, 2), pg));
        call("avgPoolBackward dy", be -> be.avgPoolBackward(be.allocate(1, 2, 3, 3), be.allocate(1, 2, 5, 5), pg));
        call("crossEntropyForward labels", be -> be.crossEntropyForward(be.allocate(4, 10), be.allocate(3), be.allocate(1), be.allocate(4, 10)));
        call("crossEntropyForward empty", be -> be.crossEntropyForward(be.allocate(0, 10), be.allocate(0), be.allocate(1), be.allocate(0, 10)));
        call("crossEntropyBackward dloss", be -> be.crossEntropyBackward(be.allocate(4, 10), be.allocate(4), be.allocate(2), be.allocate(4, 10)));
        call("bceWithLogitsForward empty", be -> be.bceWithLogitsForward(be.allocate(0), be.allocate(0), be.allocate(1)));
        call("bceWithLogitsBackward dlogits", be -> be.bceWithLogitsBackward(be.allocate(5), be.allocate(5), be.allocate(1), be.allocate(6)));
        call("faBceBackward fb", be -> be.faBceBackward(be.allocate(4, 3), be.allocate(4, 3), be.allocate(1), be.allocate(4, 5), be.allocate(5, 4),
                be.allocate(4, 5), be.allocate(3, 5), be.allocate(3), false));
        call("faBceBackward x rows", be -> be.faBceBackward(be.allocate(4, 3), be.allocate(4, 3), be.allocate(1), be.allocate(2, 10), be.allocate(3, 5),
                null, be.allocate(3, 5), null, false));
        call("faBceBackward db without dw", be -> be.faBceBackward(be.allocate(4, 3), be.allocate(4, 3), be.allocate(1), be.allocate(4, 5),
                be.allocate(3, 5), be.allocate(4, 5), null, be.allocate(3), false));
        call("faBceBackward dx in place", be -> {
            Tensor x = be.allocate(4, 5);
            be.faBceBackward(be.allocate(4, 3), be.allocate(4, 3), be.allocate(1), x, be.allocate(3, 5), x, null, null, false);
        });
        call("mseForward sizes", be -> be.mseForward(be.allocate(5), be.allocate(6), be.allocate(1)));
        call("mseBackward dloss", be -> be.mseBackward(be.allocate(5), be.allocate(5), be.allocate(5), be.allocate(5)));
        call("similarityForward s", be -> be.similarityForward(be.allocate(4, 3), be.allocate(3, 3), be.allocate(4, 3), be.allocate(4)));
        call("similarityBackward rows", be -> be.similarityBackward(be.allocate(0, 3), be.allocate(0), be.allocate(0), be.allocate(0), be.allocate(0, 3)));
        call("featureMapStdForward inner", be -> be.featureMapStdForward(be.allocate(2, 3, 1, 1), be.allocate(2, 3)));
        call("featureMapStdBackward dy", be -> be.featureMapStdBackward(be.allocate(2, 3, 4), be.allocate(2, 3), be.allocate(3, 3), be.allocate(2, 3, 4)));
        call("adamStep step", be -> be.adamStep(be.allocate(5), be.allocate(5), be.allocate(5), be.allocate(5), null, 1e-3f, 0.9f, 0.999f, 1e-8f, 0f, 0));
        call("adamStep vmax", be -> be.adamStep(be.allocate(5), be.allocate(5), be.allocate(5), be.allocate(5), be.allocate(4), 1e-3f, 0.9f, 0.999f,
                1e-8f, 0f, 1));
        call("sgdStep momentumBuf", be -> be.sgdStep(be.allocate(5), be.allocate(5), null, 0.1f, 0.9f, 0f, true));
        call("channelAffine shift", be -> be.channelAffine(be.allocate(2, 3, 4), be.allocate(3), be.allocate(2)));
        call("randomCropFlip in place", be -> {
            Tensor x = be.allocate(1, 1, 4, 4);
            be.randomCropFlip(x, x, 1, true, 1, 1);
        });
        call("randomCropFlip pad", be -> be.randomCropFlip(be.allocate(1, 1, 4, 4), be.allocate(1, 1, 4, 4), -1, true, 1, 1));
        call("cutout rank", be -> be.cutout(be.allocate(4, 4), 2, 1, 1, 1));
        call("cutout holes", be -> be.cutout(be.allocate(1, 1, 4, 4), 2, 0, 1, 1));
    }

    /** Names of the calls, in order. */
    public static List<String> names() { return new ArrayList<>(CALLS.keySet()); }

    /** "name: message" per call on {@code be}, or "name: no exception" / "name: threw X" when a call does not fail as it must. */
    public static List<String> messages(Backend be) {
        List<String> out = new ArrayList<>();
        for (var e : CALLS.entrySet()) {
            try (Scope s = Scope.open()) {
                e.getValue().accept(be);
                out.add(e.getKey() + ": no exception");
            } catch (IllegalArgumentException ex) {
                out.add(e.getKey() + ": " + ex.getMessage());
            } catch (RuntimeException ex) {
                out.add(e.getKey() + ": threw " + ex);
            }
        }
        return out;
    }
}

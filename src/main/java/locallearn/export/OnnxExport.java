package locallearn.export;

import com.google.protobuf.ByteString;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import locallearn.autograd.Var;
import locallearn.backend.Backend;
import locallearn.backend.ConvGeom;
import locallearn.backend.PoolGeom;
import locallearn.data.DatasetSpec;
import locallearn.export.onnx.OnnxProto.AttributeProto;
import locallearn.export.onnx.OnnxProto.GraphProto;
import locallearn.export.onnx.OnnxProto.ModelProto;
import locallearn.export.onnx.OnnxProto.NodeProto;
import locallearn.export.onnx.OnnxProto.OperatorSetIdProto;
import locallearn.export.onnx.OnnxProto.TensorProto;
import locallearn.export.onnx.OnnxProto.TensorShapeProto;
import locallearn.export.onnx.OnnxProto.TypeProto;
import locallearn.export.onnx.OnnxProto.ValueInfoProto;
import locallearn.local.LocalBlock;
import locallearn.models.Net;
import locallearn.nn.BatchNorm;
import locallearn.nn.Conv2d;
import locallearn.nn.Linear;
import locallearn.nn.Module;
import locallearn.nn.Pool2d;

/**
 * A network's inference path as an ONNX model (opset 17): what {@code Classifier} computes, and
 * nothing of the local heads that only train it. The graph:
 * <pre>
 *   images (N, C, H, W), pixel / 255 as the dataset loaders give them
 *   Mul normalise.scale, Add normalise.shift   x * (1/std) + (-mean/std) per channel, the trainer's normalisation
 *   per block: Conv or (Flatten, Gemm) for the encoder, BatchNormalization (running statistics),
 *              LeakyRelu (Relu for slope 0); MaxPool or AveragePool stages between blocks
 *   Flatten if needed, Gemm for the output layer -> logits (N, classes)
 * </pre>
 * Dropout is the identity in eval mode and is left out. Initializers carry the checkpoint's
 * names ({@code features.0.encoder.weight}, {@code classifier.layer_out.bias}); only the two
 * normalisation constants are ours. N is a free dimension.
 */
public final class OnnxExport {
    public static final int OPSET = 17, IR_VERSION = 8; // IR 8 is the one that came with opset 17
    private static final int FLOAT = TensorProto.DataType.FLOAT_VALUE;

    private final Backend be;
    private final Map<Var, String> names = new IdentityHashMap<>();
    private final GraphProto.Builder graph = GraphProto.newBuilder();

    private OnnxExport(Net net, Backend be) {
        this.be = be;
        net.state("").forEach((name, v) -> names.put(v, name));
    }

    /**
     * Writes {@code net}, normalising with {@code spec}'s mean and std, to {@code file}: to a
     * temporary file beside it, then renamed, so a failure never leaves a damaged or half-written
     * model in place of an existing one.
     */
    public static void write(Net net, DatasetSpec spec, Backend be, Path file) {
        ModelProto model = model(net, spec, be);
        Path dir = file.toAbsolutePath().getParent();
        try {
            Files.createDirectories(dir);
            // not createTempFile, whose file is private to its owner: the model gets the umask's permissions, as any new file
            Path tmp = dir.resolve("." + file.getFileName() + "." + ProcessHandle.current().pid() + "." + System.nanoTime() + ".tmp");
            try {
                try (OutputStream out = Files.newOutputStream(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                    model.writeTo(out);
                }
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("onnx export: cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    /** The model message (tests read it back). */
    static ModelProto model(Net net, DatasetSpec spec, Backend be) {
        var m = net.config();
        var in = net.input();
        if (m.residual()) throw new IllegalArgumentException("onnx export: " + m.name() + " is a residual network, which export does not write yet (mlp and VGG only)");
        OnnxExport x = new OnnxExport(net, be);
        x.graph.setName(m.name())
                .setDocString(m.name() + " trained on " + spec.name() + " by locallearn; input: images (N, " + in.channels() + ", " + in.height()
                        + ", " + in.width() + ") as pixel / 255 in [0, 1], normalised inside the graph; output: logits (N, " + in.classes() + ")");
        x.graph.addInput(valueInfo("images", "N", in.channels(), in.height(), in.width()));
        String h = x.normalise(spec);
        int[] shape = {in.channels(), in.height(), in.width()}; // of one example, as the walk goes
        for (Net.Stage stage : net.stages()) {
            String p = stage.prefix();
            if (stage.layer() instanceof LocalBlock b) {
                h = x.block(p, b, h, shape, m.slope());
                shape = b.outShape();
            } else if (stage.layer() instanceof Pool2d pool) {
                PoolGeom g = pool.geom(1, shape[0], shape[1], shape[2]);
                h = x.node(pool.isMax() ? "MaxPool" : "AveragePool", p + "pool", List.of(h), poolAttributes(g, pool.isMax()));
                shape = new int[] {shape[0], g.outH(), g.outW()};
            } else {
                throw new IllegalStateException("onnx export: stage " + p + " (" + stage.layer().getClass().getSimpleName() + ") has no ONNX form");
            }
        }
        x.linear(withoutDot(net.outputPrefix()), net.output(), h, shape.length == 3, "logits");
        x.graph.addOutput(valueInfo("logits", "N", in.classes()));
        return ModelProto.newBuilder()
                .setIrVersion(IR_VERSION)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET))
                .setProducerName("locallearn")
                .setProducerVersion("0.1.0")
                .setGraph(x.graph)
                .build();
    }

    /** images * scale + shift, per channel, as the trainer normalises (Classifier does the same on the device). */
    private String normalise(DatasetSpec spec) {
        float[] mean = spec.mean(), std = spec.std(), scale = new float[mean.length], shift = new float[mean.length];
        for (int c = 0; c < mean.length; c++) {
            scale[c] = 1f / std[c];
            shift[c] = -mean[c] / std[c];
        }
        int[] perChannel = {mean.length, 1, 1}; // broadcasts over (N, C, H, W)
        initializer("normalise.scale", perChannel, scale);
        initializer("normalise.shift", perChannel, shift);
        String scaled = node("Mul", "normalise.mul", List.of("images", "normalise.scale"), List.of());
        return node("Add", "normalise.add", List.of(scaled, "normalise.shift"), List.of());
    }

    /** LocalBlock.forward in eval mode: encoder, batch norm with running statistics, leaky ReLU. */
    private String block(String prefix, LocalBlock b, String h, int[] in, float slope) {
        Module encoder = b.submodule("encoder");
        if (encoder instanceof Conv2d conv) {
            ConvGeom g = conv.geometry(1, in[1], in[2]);
            h = node("Conv", prefix + "encoder", inputs(h, conv.weight(), conv.bias()), List.of(
                    ints("kernel_shape", g.kh(), g.kw()), ints("strides", g.stride(), g.stride()), ints("pads", g.pad(), g.pad(), g.pad(), g.pad())));
        } else if (encoder instanceof Linear lin) {
            h = linear(prefix + "encoder", lin, h, in.length == 3, null);
        } else {
            throw new IllegalStateException("onnx export: block " + prefix + " has encoder " + encoder + ", neither Conv2d nor Linear");
        }
        if (b.submodule("bn") instanceof BatchNorm bn) {
            Map<String, Var> s = bn.state("");
            h = node("BatchNormalization", prefix + "bn",
                    inputs(h, s.get("weight"), s.get("bias"), s.get("running_mean"), s.get("running_var")), List.of(real("epsilon", BatchNorm.EPS)));
        }
        return slope == 0f ? node("Relu", prefix + "relu", List.of(h), List.of())
                : node("LeakyRelu", prefix + "leaky_relu", List.of(h), List.of(real("alpha", slope)));
    }

    /** x w^T + b, flattening (N, C, H, W) first as Linear does; the output value is named {@code out}, or after the node. */
    private String linear(String name, Linear lin, String h, boolean spatial, String out) {
        if (spatial) h = node("Flatten", name + ".flatten", List.of(h), List.of(integer("axis", 1)));
        return node("Gemm", name, inputs(h, lin.weight(), lin.bias()), List.of(integer("transB", 1)), out);
    }

    private static String withoutDot(String prefix) { return prefix.substring(0, prefix.length() - 1); }

    private static List<AttributeProto> poolAttributes(PoolGeom g, boolean max) {
        List<AttributeProto> a = new ArrayList<>(List.of(ints("kernel_shape", g.kh(), g.kw()), ints("strides", g.sh(), g.sw()),
                ints("pads", g.ph(), g.pw(), g.ph(), g.pw())));
        if (!max) a.add(integer("count_include_pad", 1)); // Pool2d's average counts the padding, as PyTorch's default
        return a;
    }

    /** The input value names of a node: {@code h}, then each tensor (skipping nulls) as an initializer under its checkpoint name. */
    private List<String> inputs(String h, Var... tensors) {
        List<String> in = new ArrayList<>(List.of(h));
        for (Var v : tensors) {
            if (v == null) continue;
            String name = names.get(v);
            if (name == null) throw new IllegalStateException("onnx export: a tensor of the inference path is not in the network's state");
            initializer(name, v.data().shape().dims(), be.read(v.data()));
            in.add(name);
        }
        return in;
    }

    private void initializer(String name, int[] dims, float[] values) {
        ByteBuffer raw = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        raw.asFloatBuffer().put(values);
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(FLOAT).setRawData(ByteString.copyFrom(raw.array()));
        for (int d : dims) t.addDims(d);
        graph.addInitializer(t);
    }

    private String node(String op, String name, List<String> in, List<AttributeProto> attrs) { return node(op, name, in, attrs, null); }

    /** Adds a node; its one output is {@code out}, or the node's name. Returns the output's name. */
    private String node(String op, String name, List<String> in, List<AttributeProto> attrs, String out) {
        String o = out != null ? out : name;
        graph.addNode(NodeProto.newBuilder().setOpType(op).setName(name).addAllInput(in).addOutput(o).addAllAttribute(attrs));
        return o;
    }

    private static AttributeProto ints(String name, long... v) {
        AttributeProto.Builder a = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
        for (long x : v) a.addInts(x);
        return a.build();
    }

    private static AttributeProto integer(String name, long v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(v).build();
    }

    private static AttributeProto real(String name, float v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.FLOAT).setF(v).build();
    }

    /** A float tensor value with a free first dimension {@code batch} and fixed others. */
    private static ValueInfoProto valueInfo(String name, String batch, int... dims) {
        TensorShapeProto.Builder s = TensorShapeProto.newBuilder().addDim(TensorShapeProto.Dimension.newBuilder().setDimParam(batch));
        for (int d : dims) s.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        return ValueInfoProto.newBuilder().setName(name)
                .setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder().setElemType(FLOAT).setShape(s))).build();
    }
}

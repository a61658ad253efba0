package locallearn.data;

import java.util.List;
import java.util.Map;

/** The class names of the datasets whose labels have well-known names, by label index; what predict prints beside a class. */
public final class ClassNames {
    private ClassNames() {}

    private static final Map<String, List<String>> NAMES = Map.of(
            // the order of the labels in the datasets' own documentation
            "fashion-mnist", List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
            "cifar10", List.of("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
            "mnist", List.of("0", "1", "2", "3", "4", "5", "6", "7", "8", "9"));

    /** The names of {@code dataset}'s classes (a {@link DatasetSpec#name()}), or an empty list when we know none. */
    public static List<String> of(String dataset) { return NAMES.getOrDefault(dataset, List.of()); }

    /** The names of {@code spec}'s classes: those its data brought (an image folder's), else the well-known ones by its name. */
    public static List<String> of(DatasetSpec spec) { return spec.classNames().isEmpty() ? of(spec.name()) : spec.classNames(); }
}

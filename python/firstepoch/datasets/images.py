"""Image files as datasets: ImageFolder (torchvision's: one subfolder per class, class names from the
folder names, any size, RGB or grayscale, the formats Pillow reads), and the helpers that turn a list of
Pillow images into one uint8 array a model can take (stack_images) or one image into a model's input
(fit_image, the preprocessing `firstepoch predict` reads from a checkpoint)."""
import os

import numpy as np

from ..data import Dataset

IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
GRAY_MODES = ("1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "F")  # one channel of intensity


def open_image(path):
    """A Pillow image of the file at path, fully read; ValueError naming the file when Pillow cannot."""
    from PIL import Image

    try:
        img = Image.open(path)
        img.load()
    except FileNotFoundError:
        raise
    except (OSError, ValueError, SyntaxError) as e:  # UnidentifiedImageError is an OSError; truncated files too
        raise ValueError(f"cannot read image {os.fspath(path)}: {type(e).__name__}: {e}") from None
    return img


def pil_loader(path):
    """torchvision's default loader: the image converted to RGB (a grayscale image gets its one channel
    three times)."""
    return open_image(path).convert("RGB")


default_loader = pil_loader


def has_file_allowed_extension(filename, extensions):
    return filename.lower().endswith(tuple(e.lower() for e in extensions))


def find_classes(directory):
    """(sorted class folder names, {name: index}); FileNotFoundError when there is none."""
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"ImageFolder: {directory} is not a folder")
    classes = sorted(entry.name for entry in os.scandir(directory) if entry.is_dir())
    if not classes:
        raise FileNotFoundError(f"Couldn't find any class folder in {directory}. An image folder holds one "
                                "subfolder per class (root/cat/1.png, root/dog/2.jpg, ...)")
    return classes, {name: i for i, name in enumerate(classes)}


def make_dataset(directory, class_to_idx, extensions=IMG_EXTENSIONS, is_valid_file=None, allow_empty=False):
    """[(path, class index)], classes in index order, files sorted, subfolders walked (torchvision's)."""
    if (extensions is None) == (is_valid_file is None):
        raise ValueError("Both extensions and is_valid_file cannot be None or not None at the same time")
    if is_valid_file is None:
        def is_valid_file(path):
            return has_file_allowed_extension(path, extensions)
    directory = os.path.expanduser(os.fspath(directory))
    instances, empty = [], []
    for name in sorted(class_to_idx, key=class_to_idx.get):
        found = 0
        for folder, _, files in sorted(os.walk(os.path.join(directory, name), followlinks=True)):
            for file in sorted(files):
                path = os.path.join(folder, file)
                if is_valid_file(path):
                    instances.append((path, class_to_idx[name]))
                    found += 1
        if not found:
            empty.append(name)
    if empty and not allow_empty:
        msg = f"Found no valid file for the classes {', '.join(sorted(empty))}. "
        if extensions is not None:
            msg += f"Supported extensions are: {', '.join(extensions)}"
        raise FileNotFoundError(msg)
    return instances


class ImageFolder(Dataset):
    """torchvision.datasets.ImageFolder: root/CLASS/.../FILE, classes the sorted subfolder names.

    Sample i is (transform(loader(path)), target_transform(class index)); the default loader gives a
    Pillow RGB image (grayscale files converted, as torchvision). Attributes: classes, class_to_idx,
    samples (= imgs), targets. Chain the data.transforms (Resize, ..., ToTensor, Normalize) as transform.
    """

    def __init__(self, root, transform=None, target_transform=None, loader=default_loader, is_valid_file=None,
                 allow_empty=False):
        self.root = os.fspath(root)
        self.transform, self.target_transform, self.loader = transform, target_transform, loader
        self.extensions = IMG_EXTENSIONS if is_valid_file is None else None
        self.classes, self.class_to_idx = find_classes(self.root)
        self.samples = make_dataset(self.root, self.class_to_idx, self.extensions, is_valid_file, allow_empty)
        self.imgs = self.samples
        self.targets = [t for _, t in self.samples]

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, index):
        path, target = self.samples[index]
        sample = self.loader(path)
        if self.transform is not None:
            sample = self.transform(sample)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return sample, target

    def __repr__(self):
        return f"ImageFolder(root={self.root!r}, {len(self)} images, {len(self.classes)} classes)"


# ---- a list of images -> one array a model takes --------------------------------------------------------

def convert_mode(img, channels):
    """img as mode 'L' (channels 1) or 'RGB' (channels 3): grayscale into RGB repeats the channel (what
    torchvision's default loader does), colour into L is Pillow's luma (ITU-R 601-2)."""
    want = "L" if channels == 1 else "RGB"
    if img.mode == want:
        return img
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "F") and want == "L":  # 16-bit and float grayscale: scale
        a = np.asarray(img, dtype=np.float64)
        top = 65535.0 if img.mode.startswith("I") else max(float(a.max()), 1.0)
        from PIL import Image
        return Image.fromarray(np.clip(a * 255.0 / top, 0, 255).round().astype(np.uint8), "L")
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        return convert_mode(convert_mode(img, 1), 3)
    return img.convert(want)


def fit_image(img, size):
    """img resized to size (height, width): unchanged when it already is; square targets take torchvision's
    Resize(side) then CenterCrop(side) (aspect kept, the centre cut); others are resized to (h, w)."""
    from ..data.transforms import CenterCrop, Resize
    h, w = size
    if (img.height, img.width) == (h, w):
        return img
    if h == w:
        return CenterCrop(h)(Resize(h)(img))
    return Resize((h, w))(img)


def stack_images(images, channels=None, size=None):
    """(uint8 (N, H, W, C) array, channels, (H, W)) of Pillow images. channels None: 1 when every image is
    grayscale, else 3 (grayscale ones converted to RGB). size None: the images' own size when they all
    share one; else the smallest side among them, square (Resize + CenterCrop: nothing is upscaled)."""
    if channels is None:
        channels = 1 if all(img.mode in GRAY_MODES for img in images) else 3
    if size is None:
        sizes = {(img.height, img.width) for img in images}
        size = sizes.pop() if len(sizes) == 1 else (min(min(s) for s in sizes),) * 2
    size = tuple(int(s) for s in size)
    out = np.empty((len(images), size[0], size[1], channels), dtype=np.uint8)
    for i, img in enumerate(images):
        pixels = np.asarray(fit_image(convert_mode(img, channels), size))
        out[i] = pixels[:, :, None] if pixels.ndim == 2 else pixels
    return out, channels, size


def load_image_folder(root):
    """(uint8 (N, H, W, C) images, int64 labels, class names) of an image folder, through stack_images."""
    folder = ImageFolder(root, loader=open_image)
    if not folder.samples:
        raise FileNotFoundError(f"ImageFolder: no image files under {folder.root}")
    images = [open_image(path) for path, _ in folder.samples]
    return images, np.asarray(folder.targets, dtype=np.int64), folder.classes

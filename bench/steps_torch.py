"""PyTorch side of `make bench-steps` (bench/steps_compare.lua): one DeepOBS
problem's training step (forward, backward, p -= lr * grad) in PyTorch 1.13, the
same architecture and parameter count as ours (problems/*.lua), on synthetic
inputs of bench/steps.lua's shapes and dtypes. Prints one JSON line:
{"problem", "params", "flops", "s_per_step", "peak_mb"} (or {"problem", "error"});
with --build-only, {"problem", "params", "shapes", "flops"}, shapes the sorted
list of the trainable parameters' shapes ("64x1x4x4").

    /usr/bin/python3 bench/steps_torch.py PROBLEM --bs 128 --threads 1 --steps 5 \\
        [--params N] [--build-only] [--layout nchw|channels_last]

--params N: fail unless the model has N trainable parameters (ours). --build-only:
build the model and count parameters and step FLOPs without running a step.
flops: the multiply-adds x 2 of every conv and dense layer (embedding lookups,
attention products and element-wise work excluded) in the forward pass, plus
the same again for the weight gradients and for the input gradients of every
layer whose input needs one. peak_mb: VmHWM after the timed steps.

PyTorch at its best settings (bench/torch_setup.py); for the conv nets the driver tries both NCHW and
channels_last and keeps the faster. Run with Debian's
/usr/bin/python3 (python3-torch); PyTorch is a benchmark reference only."""
import argparse, json, math, os, re, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_setup import reexec_tuned, set_threads  # noqa: E402

reexec_tuned()

import torch
import torch.nn as nn
import torch.nn.functional as F


# ---------------------------------------------------------------------------------
# models (problems/_models.lua, _convnets.lua and the problems' own files)

class Classifier(nn.Module):
    """net(x) -> logits; loss: mean cross-entropy + (wd / 2) sum W^2 over `decayed`."""

    def __init__(self, net, wd=None, decayed=(), resize=None):
        super().__init__()
        self.net, self.wd, self.decayed, self.resize = net, wd, list(decayed), resize

    def regularizer(self):
        if not self.wd:
            return None
        return sum((w * w).sum() for w in self.decayed) * (self.wd / 2)

    def loss(self, x, y):
        if self.resize and x.shape[-1] != self.resize:
            x = F.interpolate(x, size=(self.resize, self.resize), mode="bilinear", align_corners=False)
        obj = F.cross_entropy(self.net(x), y)
        reg = self.regularizer()
        return obj if reg is None else obj + reg


def kernels(modules):
    return [m.weight for m in modules if isinstance(m, (nn.Conv2d, nn.Linear))]


def logreg(C):
    return Classifier(nn.Sequential(nn.Flatten(), nn.Linear(784, C)))


def mlp(C):
    return Classifier(nn.Sequential(nn.Flatten(), nn.Linear(784, 1000), nn.ReLU(), nn.Linear(1000, 500), nn.ReLU(),
                                    nn.Linear(500, 100), nn.ReLU(), nn.Linear(100, C)))


def c2d2(C):
    return Classifier(nn.Sequential(
        nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Flatten(), nn.Linear(3136, 1024), nn.ReLU(), nn.Linear(1024, C)))


def c3d3(C, wd):
    # TF SAME 3x3/2 pools pad 0 before and 1 after at 28, 12, 6: ceil_mode gives those windows
    pool = lambda: nn.MaxPool2d(3, 2, ceil_mode=True)
    net = nn.Sequential(
        nn.Conv2d(3, 64, 5), nn.ReLU(), pool(), nn.Conv2d(64, 96, 3), nn.ReLU(), pool(),
        nn.Conv2d(96, 128, 3, padding=1), nn.ReLU(), pool(), nn.Flatten(),
        nn.Linear(1152, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, C))
    return Classifier(net, wd, kernels(net))


class GlobalMean(nn.Module):
    def forward(self, x):
        return x.mean((2, 3))


def allcnnc(C, wd):
    # the stride-2 SAME convs pad (0, 1) in TF; padding 1 gives the same output size and cost
    conv = lambda i, o, k, s=1, p=1: nn.Conv2d(i, o, k, s, p)
    net = nn.Sequential(
        nn.Dropout(0.2), conv(3, 96, 3), nn.ReLU(), conv(96, 96, 3), nn.ReLU(), conv(96, 96, 3, 2), nn.ReLU(),
        nn.Dropout(0.5), conv(96, 192, 3), nn.ReLU(), conv(192, 192, 3), nn.ReLU(), conv(192, 192, 3, 2), nn.ReLU(),
        nn.Dropout(0.5), conv(192, 192, 3, 1, 0), nn.ReLU(), conv(192, 192, 1, 1, 0), nn.ReLU(),
        conv(192, C, 1, 1, 0), nn.ReLU(), GlobalMean())
    return Classifier(net, wd, kernels(net))


class WRNUnit(nn.Module):
    def __init__(self, cin, cout, stride, first):
        super().__init__()
        self.first = first
        self.bn1, self.bn2 = nn.BatchNorm2d(cin), nn.BatchNorm2d(cout)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.shortcut = None
        if first and cin != cout:
            self.shortcut = nn.Conv2d(cin, cout, 1, stride, bias=False)
        elif first and stride != 1:
            self.shortcut = nn.MaxPool2d(stride, stride)

    def forward(self, x):
        a = F.relu(self.bn1(x))
        r = self.conv2(F.relu(self.bn2(self.conv1(a))))
        if not self.first:
            return x + r
        return (self.shortcut(a) if self.shortcut is not None else a) + r


def wrn(n, k, C, wd):
    f = [16, 16 * k, 32 * k, 64 * k]
    layers = [nn.Conv2d(3, 16, 3, 1, 1, bias=False)]
    for b, s in enumerate([1, 2, 2]):
        for u in range(n):
            layers.append(WRNUnit(f[b] if u == 0 else f[b + 1], f[b + 1], s if u == 0 else 1, u == 0))
    layers += [nn.BatchNorm2d(f[3]), nn.ReLU(), GlobalMean(), nn.Linear(f[3], C)]
    net = nn.Sequential(*layers)
    return Classifier(net, wd, kernels(net.modules()))


VGG = {16: [(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)], 19: [(64, 2), (128, 2), (256, 4), (512, 4), (512, 4)]}


def vgg(depth, C, wd, bn=False):
    layers, convs, cin = [], [], 3
    for cout, reps in VGG[depth]:
        for _ in range(reps):
            convs.append(nn.Conv2d(cin, cout, 3, 1, 1, bias=not bn))
            layers += [convs[-1]] + ([nn.BatchNorm2d(cout)] if bn else []) + [nn.ReLU()]
            cin = cout
        layers.append(nn.MaxPool2d(2, 2))
    p = 0.2 if bn else 0.5
    layers += [nn.Flatten(), nn.Linear(25088, 4096), nn.ReLU(), nn.Dropout(p), nn.Linear(4096, 4096), nn.ReLU(),
               nn.Dropout(p), nn.Linear(4096, C)]
    return Classifier(nn.Sequential(*layers), wd, [c.weight for c in convs], resize=224)


class ConvBN(nn.Module):
    def __init__(self, cin, cout, k, stride=1, padding="SAME"):
        super().__init__()
        k = (k, k) if isinstance(k, int) else tuple(k)
        pad = (k[0] // 2, k[1] // 2) if padding == "SAME" else 0
        self.conv = nn.Conv2d(cin, cout, k, stride, pad, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=1e-3, momentum=1 - 0.9997)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class Cat(nn.Module):
    def __init__(self, *branches):
        super().__init__()
        self.branches = nn.ModuleList(branches)

    def forward(self, x):
        return torch.cat([b(x) for b in self.branches], 1)


def avgpool3():
    return nn.AvgPool2d(3, 1, 1, count_include_pad=False)


class Inception(nn.Module):
    def __init__(self, C, wd):
        super().__init__()
        S = nn.Sequential
        cb = ConvBN
        self.wd = wd
        self.stem = S(cb(3, 32, 3, 2, "VALID"), cb(32, 32, 3, 1, "VALID"), cb(32, 64, 3), nn.MaxPool2d(3, 2),
                      cb(64, 80, 1, 1, "VALID"), cb(80, 192, 3, 1, "VALID"), nn.MaxPool2d(3, 2))
        b5 = lambda cin, pf: Cat(cb(cin, 64, 1), S(avgpool3(), cb(cin, pf, 1)), S(cb(cin, 48, 1), cb(48, 64, 5)),
                                 S(cb(cin, 64, 1), cb(64, 96, 3), cb(96, 96, 3)))
        b6 = lambda nf: Cat(cb(768, 192, 1), S(avgpool3(), cb(768, 192, 1)),
                            S(cb(768, nf, 1), cb(nf, nf, (1, 7)), cb(nf, 192, (7, 1))),
                            S(cb(768, nf, 1), cb(nf, nf, (7, 1)), cb(nf, nf, (1, 7)), cb(nf, nf, (7, 1)),
                              cb(nf, 192, (1, 7))))
        self.trunk = S(b5(192, 32), b5(256, 64), b5(288, 64),
                       Cat(nn.MaxPool2d(3, 2), cb(288, 384, 3, 2, "VALID"),
                           S(cb(288, 64, 1), cb(64, 96, 3), cb(96, 96, 3, 2, "VALID"))),
                       b6(128), b6(160), b6(160), b6(192))
        self.aux = S(nn.AvgPool2d(5, 3), cb(768, 128, 1), cb(128, 768, 5, 1, "VALID"), nn.Flatten(),
                     nn.Linear(768, C))
        split = lambda: Cat(cb(384, 384, (1, 3)), cb(384, 384, (3, 1)))
        b7 = lambda cin: Cat(cb(cin, 320, 1), S(cb(cin, 384, 1), split()), S(cb(cin, 448, 1), cb(448, 384, 3), split()),
                             S(avgpool3(), cb(cin, 192, 1)))
        self.top = S(Cat(nn.MaxPool2d(3, 2),
                         S(cb(768, 192, 1), cb(192, 192, (1, 7)), cb(192, 192, (7, 1)), cb(192, 192, 3, 2, "VALID")),
                         S(cb(768, 192, 1), cb(192, 320, 3, 2, "VALID"))),
                     b7(1280), b7(2048))
        self.head = S(nn.AvgPool2d(8, 8), nn.Dropout(0.8), nn.Flatten(), nn.Linear(2048, C))

    def loss(self, x, y):
        if x.shape[-1] != 299:
            x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        h = self.trunk(self.stem(x))
        aux = self.aux(h)
        logits = self.head(self.top(h))
        obj = F.cross_entropy(logits, y, label_smoothing=0.1) + 0.4 * F.cross_entropy(aux, y, label_smoothing=0.1)
        convs = [m.weight for m in self.modules() if isinstance(m, nn.Conv2d)]
        return obj + sum((w * w).sum() for w in convs) * (self.wd / 2)


class SameTransposed1(nn.ConvTranspose2d):
    """TF's conv2d_transpose, stride 1, padding SAME, even kernel (output size = input
    size, which no ConvTranspose2d padding gives): the convolution with the flipped
    kernel over the input padded k/2 before and k/2 - 1 after."""

    def __init__(self, cin, cout, k):
        super().__init__(cin, cout, k)

    def forward(self, x):
        k = self.kernel_size[0]
        return F.conv2d(F.pad(x, (k // 2, k // 2 - 1, k // 2, k // 2 - 1)), self.weight.transpose(0, 1).flip(2, 3),
                        self.bias)


class VAE(nn.Module):
    def __init__(self, n_latent=8):
        super().__init__()
        L = lambda: nn.LeakyReLU(0.3)
        self.n_latent = n_latent
        # the 7 -> 7 SAME 4x4 conv pads 1 before and 2 after, as TF
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 64, 4, 2, 1), L(), nn.Dropout(0.2), nn.Conv2d(64, 64, 4, 2, 1), L(), nn.Dropout(0.2),
            nn.ZeroPad2d((1, 2, 1, 2)), nn.Conv2d(64, 64, 4), L(), nn.Dropout(0.2), nn.Flatten())
        self.mean, self.log_std = nn.Linear(3136, n_latent), nn.Linear(3136, n_latent)
        self.dec_dense = nn.Sequential(nn.Linear(n_latent, 24), L(), nn.Linear(24, 49), L())
        self.t1, self.t2, self.t3 = nn.ConvTranspose2d(1, 64, 4, 2, 1), SameTransposed1(64, 64, 4), \
            SameTransposed1(64, 64, 4)
        self.out = nn.Linear(12544, 784)

    def loss(self, x, y):
        B = x.shape[0]
        h = self.encoder(x)
        mean, s = self.mean(h), self.log_std(h) * 0.5
        z = mean + torch.randn(B, self.n_latent) * s.exp()
        d = self.dec_dense(z).view(B, 1, 7, 7)
        d = F.dropout(F.relu(self.t1(d)), 0.2, self.training)
        d = F.dropout(F.relu(self.t2(d)), 0.2, self.training)
        d = F.relu(self.t3(d))
        img = torch.sigmoid(self.out(d.flatten(1)))
        img_loss = ((img - x.view(B, 784)) ** 2).sum(1)
        latent = -0.5 * ((1 + 2 * s) - mean * mean - (2 * s).exp()).sum(1)
        return (img_loss + latent).mean()


class ViTBlock(nn.Module):
    def __init__(self, dim=192, heads=3, mlp=768, drop=0.1):
        super().__init__()
        self.heads, self.drop = heads, drop
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.fc1, self.fc2 = nn.Linear(dim, mlp), nn.Linear(mlp, dim)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(self.norm1(x)).view(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        a = attention(qkv[0], qkv[1], qkv[2], False, self.drop, self.training)
        x = x + self.proj(a.transpose(1, 2).reshape(B, N, C))
        h = F.dropout(F.gelu(self.fc1(self.norm2(x))), self.drop, self.training)
        return x + F.dropout(self.fc2(h), self.drop, self.training)


def attention(q, k, v, causal, drop, training):
    # PyTorch 1.13 has no fused scaled_dot_product_attention
    s = q @ k.transpose(-2, -1) * (1 / math.sqrt(q.shape[-1]))
    if causal:
        T = q.shape[-2]
        s = s.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))
    return F.dropout(s.softmax(-1), drop, training) @ v


class ViTMicro(nn.Module):
    def __init__(self, C=101, wd=1e-4):
        super().__init__()
        self.wd = wd
        self.patch_embed = nn.Conv2d(3, 192, 16, 16)
        self.cls_token = nn.Parameter(torch.randn(1, 1, 192) * 0.02)
        self.pos_embed = nn.Parameter(torch.randn(1, 37, 192) * 0.02)
        self.blocks = nn.Sequential(*[ViTBlock() for _ in range(6)])
        self.norm, self.head = nn.LayerNorm(192), nn.Linear(192, C)

    def loss(self, x, y):
        B = x.shape[0]
        p = self.patch_embed(x).flatten(2).transpose(1, 2)
        h = F.dropout(torch.cat([self.cls_token.expand(B, 1, 192), p], 1) + self.pos_embed, 0.1, self.training)
        logits = self.head(self.norm(self.blocks(h))[:, 0])
        return F.cross_entropy(logits, y) + sum((p * p).sum() for p in self.parameters()) * (0.5 * self.wd)


class GPTMicro(nn.Module):
    def __init__(self, V=50, D=128, heads=4, blocks=6, mlp=512, max_t=128):
        super().__init__()
        self.heads = heads
        self.tok_emb = nn.Parameter(torch.randn(V, D) * 0.02)
        self.pos_emb = nn.Parameter(torch.randn(max_t, D) * 0.02)
        self.blocks = nn.ModuleList(nn.ModuleDict(dict(
            ln1=nn.LayerNorm(D), qkv=nn.Linear(D, 3 * D), o_proj=nn.Linear(D, D), ln2=nn.LayerNorm(D),
            fc1=nn.Linear(D, mlp), fc2=nn.Linear(mlp, D))) for _ in range(blocks))
        self.ln_f = nn.LayerNorm(D)

    def loss(self, x, y):
        B, T = x.shape
        D = self.tok_emb.shape[1]
        h = F.dropout(F.embedding(x, self.tok_emb) + self.pos_emb[:T], 0.1, self.training)
        for b in self.blocks:
            q, k, v = b["qkv"](b["ln1"](h)).view(B, T, 3, self.heads, D // self.heads).permute(2, 0, 3, 1, 4)
            a = attention(q, k, v, True, 0.1, self.training).permute(0, 2, 1, 3).reshape(B, T, D)
            h = h + b["o_proj"](a)
            h = h + F.dropout(b["fc2"](F.gelu(b["fc1"](b["ln2"](h)))), 0.1, self.training)
        logits = F.linear(self.ln_f(h).reshape(B * T, D), self.tok_emb)
        return F.cross_entropy(logits, y.reshape(B * T))


class CharLSTM(nn.Module):
    """tolstoi_char_rnn (tf=True: one bias per layer, so b_hh is frozen at 0; dropout on
    each layer's input and output) or ptb_lstm (two biases; dropout after the embedding,
    between the layers and after the last). No state is carried (see loss)."""

    def __init__(self, V, tf):
        super().__init__()
        self.tf, self.p = tf, 0.2
        self.embedding = nn.Embedding(V, 128)
        self.lstms = nn.ModuleList(nn.LSTM(128, 128) for _ in range(2))
        if tf:
            for l in self.lstms:
                l.bias_hh_l0.data.zero_()
                l.bias_hh_l0.requires_grad_(False)
        self.fc = nn.Linear(128, V)

    def loss(self, x, y):
        T, B = x.shape[1], x.shape[0]
        seq = self.embedding(x.t())
        if not self.tf:
            seq = F.dropout(seq, self.p, self.training)
        for i, l in enumerate(self.lstms):
            if self.tf:
                seq = F.dropout(seq, self.p, self.training)
            # bench/steps.lua feeds one batch again and again, and our models start a batch
            # seen before from the state it started with (zeros): so does this one
            seq, _ = l(seq)
            seq = F.dropout(seq, self.p, self.training)
        return F.cross_entropy(self.fc(seq.reshape(T * B, 128)), y.t().reshape(T * B))


class Quadratic(nn.Module):
    def __init__(self):
        super().__init__()
        self.theta = nn.Parameter(torch.ones(100))
        R = torch.linalg.qr(torch.randn(100, 100, dtype=torch.float64))[0]
        eig = torch.cat([torch.rand(90), 30 + 30 * torch.rand(10)]).double()
        self.register_buffer("Q", (R.t() @ torch.diag(eig) @ R).float())

    def loss(self, x, y):
        d = self.theta - x
        return ((d @ self.Q) * d).sum(1).mul(0.5).mean()


TWO_D = {
    "two_d_beale": ((-4.5, 4.5), lambda u, v: (1.5 - u + u * v) ** 2 + (2.25 - u + u * v * v) ** 2
                    + (2.625 - u + u * v * v * v) ** 2),
    "two_d_branin": ((2.5, 12.5), lambda u, v: (v - 5.1 / (4 * math.pi ** 2) * u * u + 5 / math.pi * u - 6) ** 2
                     + 10 * (1 - 1 / (8 * math.pi)) * torch.cos(u) + 10),
    "two_d_rosenbrock": ((-0.5, 1.5), lambda u, v: (1 - u) ** 2 + 100 * (v - u * u) ** 2),
}


class TwoD(nn.Module):
    def __init__(self, start, f):
        super().__init__()
        self.u, self.v, self.f = nn.Parameter(torch.tensor(start[0])), nn.Parameter(torch.tensor(start[1])), f

    def loss(self, x, y):
        return (self.f(self.u, self.v) + self.u * x + self.v * y).mean()


def build(name):
    """(model, input maker(bs) -> (x, y), conv net?) of problem `name`."""
    ds, _, arch = name.partition("_")
    C = {"mnist": 10, "fmnist": 10, "cifar10": 10, "cifar100": 100, "svhn": 10, "imagenet": 1001, "food101": 101}
    image = {"mnist": (1, 28), "fmnist": (1, 28), "cifar10": (3, 32), "cifar100": (3, 32), "svhn": (3, 32),
             "imagenet": (3, 224), "food101": (3, 224)}
    wd = {"3c3d": 0.002}.get(arch, 5e-4)
    models = {
        "logreg": lambda: logreg(C[ds]), "mlp": lambda: mlp(C[ds]), "2c2d": lambda: c2d2(C[ds]),
        "vae": VAE, "3c3d": lambda: c3d3(C[ds], wd), "allcnnc": lambda: allcnnc(C[ds], wd),
        "wrn164": lambda: wrn(2, 4, C[ds], wd), "wrn404": lambda: wrn(6, 4, C[ds], wd),
        "vgg16": lambda: vgg(16, C[ds], wd, bn=ds == "food101"), "vgg19": lambda: vgg(19, C[ds], wd, bn=ds == "food101"),
        "inception_v3": lambda: Inception(C[ds], wd), "vit_micro": ViTMicro,
        "gpt_micro": GPTMicro, "lstm": lambda: CharLSTM(50, tf=False), "char_rnn": lambda: CharLSTM(83, tf=True),
    }
    if ds == "quadratic":
        return Quadratic(), lambda bs: (torch.randn(bs, 100) * 0.6, None), False
    if ds == "two":
        return TwoD(*TWO_D[name]), lambda bs: (torch.randn(bs), torch.randn(bs)), False
    if ds in ("ptb", "tolstoi"):
        V, T = (50, 128 if arch == "gpt_micro" else 50) if ds == "ptb" else (83, 50)
        return models[arch](), lambda bs: (torch.randint(0, V, (bs, T)), torch.randint(0, V, (bs, T))), False
    if arch not in models or ds not in C:
        raise ValueError("no PyTorch model for problem " + name)
    c, side = image[ds]
    side = 96 if arch == "vit_micro" else side
    conv = arch not in ("logreg", "mlp")
    return models[arch](), lambda bs: (torch.randn(bs, c, side, side), torch.arange(bs) * 7 % C[ds]), conv


# ---------------------------------------------------------------------------------
# FLOPs, timing, memory

def count_flops(model, x, y):
    """2 x multiply-adds of the conv and dense layers of one forward, x 3 (x 2 for a
    layer whose input needs no gradient): the step's GEMM work."""
    total = [0]

    def hook(m, inp, out):
        if isinstance(m, nn.Conv2d):
            macs = out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, nn.ConvTranspose2d):
            macs = inp[0].numel() * m.out_channels * m.kernel_size[0] * m.kernel_size[1]
        else:
            macs = out.numel() * m.in_features
        total[0] += 2 * macs * (3 if inp[0].requires_grad else 2)

    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]
    with torch.enable_grad():   # so that a layer sees whether its input needs a gradient
        model.loss(x, y)
    for h in hs:
        h.remove()
    return total[0]


def peak_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("problem")
    ap.add_argument("--bs", type=int, required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--params", type=int)
    ap.add_argument("--build-only", action="store_true")
    ap.add_argument("--layout", choices=["nchw", "channels_last"], default="channels_last",
                    help="memory format of a conv net's activations and weights")
    a = ap.parse_args()
    set_threads(a.threads)
    out = {"problem": a.problem}
    try:
        torch.manual_seed(42)
        model, make, conv = build(a.problem)
        params = [p for p in model.parameters() if p.requires_grad]
        out["params"] = sum(p.numel() for p in params)
        out["shapes"] = sorted("x".join(map(str, p.shape)) for p in params)
        if a.params is not None and a.params != out["params"]:
            raise ValueError("PyTorch model has %d parameters, ours %d" % (out["params"], a.params))
        model.train()
        x, y = make(a.bs)
        if conv:
            if a.layout == "channels_last":
                model = model.to(memory_format=torch.channels_last)
                x = x.contiguous(memory_format=torch.channels_last)
            out["layout"] = a.layout
            # batch 2: BatchNorm in training mode needs more than one value per channel
            n = min(2, a.bs)
            out["flops"] = count_flops(model, x[:n], y[:n]) * a.bs // n
        if a.build_only:
            print(json.dumps(out)); return
        del out["shapes"]

        def step():
            for p in params:
                p.grad = None
            obj = model.loss(x, y)
            obj.backward()
            with torch.no_grad():
                for p in params:
                    p.add_(p.grad, alpha=-1e-4)
            return obj.item()

        step()
        times = []
        for _ in range(a.steps):
            t0 = time.perf_counter()
            step()
            times.append(time.perf_counter() - t0)
        times.sort()
        n = len(times)
        out["s_per_step"] = times[n // 2] if n % 2 else (times[n // 2 - 1] + times[n // 2]) / 2
        out["peak_mb"] = peak_mb()
    except (RuntimeError, ValueError, MemoryError) as e:
        msg = str(e).split("\n")[0]
        oom = re.search(r"can't allocate memory: you tried to allocate (\d+) bytes", msg)
        out["error"] = "out of memory allocating %s bytes" % oom.group(1) if oom else msg[:200]
    print(json.dumps(out))
    sys.exit(1 if "error" in out else 0)


if __name__ == "__main__":
    main()

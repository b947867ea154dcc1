"""PyTorch side of bench/epoch.lua: one epoch of a DeepOBS problem as a plain PyTorch 1.13
loop, the same work as runner.run{ num_epochs = 1 } does after its setup: evaluation
(train_eval, test), one training epoch (SGD, lr 0.01), evaluation, a JSON file of the
losses and a checkpoint (torch.save of the model's and optimizer's state and the RNG state).
--rounds R runs that R
times in this process (data, model and optimizer new each time, as bench/epoch.lua's rounds
of runner.run), and prints one line per round of key=seconds pairs: epoch (the whole of it), train_steps (forward, backward, update),
eval_<split> (forward passes), data_<split> (waiting on the DataLoader plus the per-batch
transform: CIFAR's augmentation or standardisation), results, checkpoint, setup (files, model; not in the epoch).
Run with Debian's /usr/bin/python3 (python3-torch 1.13), at the settings bench/ops_torch.py
uses (tcmalloc, passive OpenMP waits, torch and OpenBLAS thread counts both set).

Data: the same files as our side, in the same splits (datasets/pipeline/split_rule.lua):
train shuffled, drop remainder; train_eval = the first train_eval_size // B batches of the
shuffled (for CIFAR, augmented) training order; test in file order. TensorDataset and
DataLoader (num_workers=0) at the problem's batch size. CIFAR's augmentation is DeepOBS
1.1's (datasets/pipeline/record_images.lua), in torch ops on each batch: pad 2 and random
32x32 crop, random flip, brightness +-63/255, saturation 0.5..1.5 (TF's HSV round trip,
computed as its closed form: hue and value kept, each channel v - (v - c) s'/s), contrast
0.2..1.8, per-image standardisation."""
import argparse, gzip, itertools, json, os, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_setup import reexec_tuned, set_threads  # noqa: E402

reexec_tuned()

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Subset, TensorDataset

LR = 0.01
SEED = 42


def parse():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--problem", required=True, choices=["fmnist_2c2d", "cifar10_3c3d", "tolstoi_char_rnn"])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--data_dir", required=True)
    p.add_argument("--fmnist_dir", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--max_steps", type=int, default=None, help="at most K batches per split")
    p.add_argument("--rounds", type=int, default=1)
    return p.parse_args()


# ---------------------------------------------------------------------------------------
# data

def idx_file(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = np.frombuffer(data, dtype=">u4", count=ndim, offset=4)
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def fmnist(d):
    def read(name):
        path = os.path.join(d, name)
        return idx_file(path + ".gz" if os.path.exists(path + ".gz") else path)
    def images(name):  # pixels / 255, [N, 1, 28, 28]
        return torch.from_numpy(read(name).astype(np.float32) / 255).unsqueeze(1)
    def labels(name):
        return torch.from_numpy(read(name).astype(np.int64))
    return (TensorDataset(images("train-images-idx3-ubyte"), labels("train-labels-idx1-ubyte")),
            TensorDataset(images("t10k-images-idx3-ubyte"), labels("t10k-labels-idx1-ubyte")))


def cifar10(d):
    def read(names):
        raw = np.concatenate([np.fromfile(os.path.join(d, "cifar-10", n), dtype=np.uint8) for n in names])
        raw = raw.reshape(-1, 3073)
        return TensorDataset(torch.from_numpy(raw[:, 1:].reshape(-1, 3, 32, 32).copy()),
                             torch.from_numpy(raw[:, 0].astype(np.int64)))
    return read(["data_batch_%d.bin" % i for i in range(1, 6)]), read(["test_batch.bin"])


def tolstoi(d, B, L=50):
    """each split a TensorDataset of whole batches [nb, B, L], as datasets/pipeline/stream.lua
    cuts them: row b of batch i + 1 continues row b of batch i"""
    def stream(name):
        ids = torch.from_numpy(np.load(os.path.join(d, "tolstoi", name)))
        nb = (ids.numel() - 1) // (B * L)
        x = ids[:nb * B * L].view(B, nb, L).transpose(0, 1).contiguous()
        y = ids[1:nb * B * L + 1].view(B, nb, L).transpose(0, 1).contiguous()
        return TensorDataset(x, y)
    return stream("train.npy"), stream("test.npy")


def per_image_standardize(x):
    n = x[0].numel()
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    std = x.std(dim=(1, 2, 3), unbiased=False, keepdim=True)
    return (x - mean) / std.clamp(min=1.0 / n ** 0.5)


def augment(x):
    """DeepOBS 1.1's CIFAR augmentation of a float batch [B, 3, 32, 32] of 0..255 values"""
    B = x.shape[0]
    off = torch.randint(0, 5, (B, 2))
    xp = F.pad(x, (2, 2, 2, 2))
    r = torch.arange(32)
    rows = (off[:, 0:1] + r)[:, None, :, None]
    cols = (off[:, 1:2] + r)[:, None, None, :]
    x = xp[torch.arange(B)[:, None, None, None], torch.arange(3)[None, :, None, None], rows, cols]
    flip = torch.rand(B) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    x = x + torch.empty(B, 1, 1, 1).uniform_(-63 / 255, 63 / 255)
    # saturation through HSV: s' = clip(s f, 0, 1) with hue and value kept
    f = torch.empty(B, 1, 1, 1).uniform_(0.5, 1.5)
    v = x.amax(dim=1, keepdim=True)
    m = x.amin(dim=1, keepdim=True)
    s = torch.where(v > 0, (v - m) / v, torch.zeros_like(v))
    s2 = (s * f).clamp(0, 1)
    ratio = torch.where(s > 0, s2 / s, torch.ones_like(s))
    x = v - (v - x) * ratio
    c = torch.empty(B, 1, 1, 1).uniform_(0.2, 1.8)
    mean = x.mean(dim=(2, 3), keepdim=True)
    x = (x - mean) * c + mean
    return per_image_standardize(x)


class Splits:
    """train / train_eval / test loaders and each one's per-batch transform"""

    def __init__(self, problem, fmnist_dir, data_dir, max_steps):
        if problem == "fmnist_2c2d":
            self.B, te_size = 128, 10000
            train, test = fmnist(fmnist_dir)
            self.train_tf = self.eval_tf = lambda x: x
            self.test_tf = self.eval_tf
        elif problem == "cifar10_3c3d":
            self.B, te_size = 128, 10000
            train, test = cifar10(data_dir)
            self.train_tf = self.eval_tf = lambda x: augment(x.float())
            self.test_tf = lambda x: per_image_standardize(x.float())
        else:
            self.B = 50
            train, test = tolstoi(data_dir, self.B)
            te_size = 653237  # // B batches: more than the training stream has, so all of them
            self.train_tf = self.eval_tf = self.test_tf = lambda x: x
        stream = problem == "tolstoi_char_rnn"
        g = torch.Generator().manual_seed(SEED)
        if stream:  # batches are the examples: no shuffling, no collation
            self.train = DataLoader(train, batch_size=None, shuffle=False, num_workers=0)
            self.train_eval = DataLoader(Subset(train, range(min(te_size // self.B, len(train)))),
                                         batch_size=None, num_workers=0)
            self.test = DataLoader(test, batch_size=None, num_workers=0)
        else:
            self.train = DataLoader(train, batch_size=self.B, shuffle=True, drop_last=True, num_workers=0,
                                    generator=g)
            order = torch.randperm(len(train), generator=torch.Generator().manual_seed(SEED))
            self.train_eval = DataLoader(Subset(train, order[:te_size // self.B * self.B].tolist()),
                                         batch_size=self.B, drop_last=True, num_workers=0)
            self.test = DataLoader(test, batch_size=self.B, drop_last=True, num_workers=0)
        self.max_steps = max_steps

    def batches(self, split):
        loader = getattr(self, split)
        return itertools.islice(loader, self.max_steps) if self.max_steps else iter(loader)

    def transform(self, split):
        return {"train": self.train_tf, "train_eval": self.eval_tf, "test": self.test_tf}[split]


# ---------------------------------------------------------------------------------------
# models: forward(batch, training) -> (loss, accuracy), as problems/<name>.lua

class C2D2(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2, 2),
            nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2, 2),
            nn.Flatten(), nn.Linear(7 * 7 * 64, 1024), nn.ReLU(), nn.Linear(1024, 10))

    def objective(self, x, y, training):
        out = self.net(x)
        return F.cross_entropy(out, y), (out.argmax(1) == y).float().mean()

    def start_phase(self):
        pass


class C3D3(nn.Module):
    """TF's 3x3/2 SAME pools pad one after; padding=1 pads one on each side instead: the
    same output sizes (14, 6, 3) and work, without a copy"""
    WD = 0.002

    def __init__(self):
        super().__init__()
        pool = lambda: nn.MaxPool2d(3, 2, padding=1)
        self.convs = [nn.Conv2d(3, 64, 5), nn.Conv2d(64, 96, 3), nn.Conv2d(96, 128, 3, padding=1)]
        self.dense = [nn.Linear(1152, 512), nn.Linear(512, 256), nn.Linear(256, 10)]
        self.net = nn.Sequential(
            self.convs[0], nn.ReLU(), pool(), self.convs[1], nn.ReLU(), pool(), self.convs[2], nn.ReLU(), pool(),
            nn.Flatten(), self.dense[0], nn.ReLU(), self.dense[1], nn.ReLU(), self.dense[2])

    def objective(self, x, y, training):
        out = self.net(x)
        reg = sum((m.weight * m.weight).sum() for m in self.convs + self.dense) * (self.WD / 2)
        return F.cross_entropy(out, y) + reg, (out.argmax(1) == y).float().mean()

    def start_phase(self):
        pass


class CharRNN(nn.Module):
    """embedding, 2 LSTM layers with dropout 0.2 on each one's input and output, softmax
    layer; the state carried from batch to batch, reset at each phase"""

    def __init__(self, V=83, H=128):
        super().__init__()
        self.embedding = nn.Embedding(V, H)
        self.lstms = nn.ModuleList([nn.LSTM(H, H) for _ in range(2)])
        for lstm in self.lstms:  # TF's forget bias 1.0
            with torch.no_grad():
                lstm.bias_ih_l0[H:2 * H].fill_(1.0)
        self.out = nn.Linear(H, V)
        self.state = None

    def objective(self, x, y, training):
        seq = self.embedding(x.t())
        new = []
        for l, lstm in enumerate(self.lstms):
            seq = F.dropout(seq, 0.2, training)
            seq, (h, c) = lstm(seq, self.state[l] if self.state else None)
            seq = F.dropout(seq, 0.2, training)
            new.append((h.detach(), c.detach()))
        self.state = new
        out = self.out(seq.reshape(-1, seq.shape[2]))
        yt = y.t().reshape(-1)
        return F.cross_entropy(out, yt), (out.argmax(1) == yt).float().mean()

    def start_phase(self):
        self.state = None


MODELS = {"fmnist_2c2d": C2D2, "cifar10_3c3d": C3D3, "tolstoi_char_rnn": CharRNN}


# ---------------------------------------------------------------------------------------
# the epoch

def add(times, key, t0):
    t = time.perf_counter()
    times[key] = times.get(key, 0.0) + (t - t0)
    return t


def evaluate(model, splits, times, record):
    model.eval()
    with torch.no_grad():
        for split in ("train_eval", "test"):
            model.start_phase()
            tf = splits.transform(split)
            loss_sum = acc_sum = n = 0
            t = time.perf_counter()
            for x, y in splits.batches(split):
                x = tf(x)
                t = add(times, "data_" + split, t)
                loss, acc = model.objective(x, y, False)
                loss_sum += loss.item()
                acc_sum += acc.item()
                n += 1
                t = add(times, "eval_" + split, t)
            add(times, "data_" + split, t)
            record.setdefault(split + "_losses", []).append(loss_sum / n)
            record.setdefault(split + "_accuracies", []).append(acc_sum / n)


def train_epoch(model, opt, splits, times):
    model.train()
    model.start_phase()
    logged = []
    t = time.perf_counter()
    for step, (x, y) in enumerate(splits.batches("train")):
        x = splits.train_tf(x)
        t = add(times, "data_train", t)
        opt.zero_grad(set_to_none=True)
        loss, _ = model.objective(x, y, True)
        loss.backward()
        opt.step()
        value = loss.item()
        t = add(times, "train_steps", t)
        if step % 10 == 0:
            logged.append(value)
    add(times, "data_train", t)
    return logged


def one_round(args):
    torch.manual_seed(SEED)
    t0 = time.perf_counter()
    splits = Splits(args.problem, args.fmnist_dir, args.data_dir, args.max_steps)
    model = MODELS[args.problem]()
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    times = {"setup": time.perf_counter() - t0}
    record = {}
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        evaluate(model, splits, times, record)
        record["minibatch_train_losses"] = train_epoch(model, opt, splits, times)
        evaluate(model, splits, times, record)
        t = time.perf_counter()
        with open(os.path.join(out, "result.json"), "w") as f:
            json.dump(record, f)
        t = add(times, "results", t)
        torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "rng": torch.get_rng_state()},
                   os.path.join(out, "checkpoint.pt"))
        add(times, "checkpoint", t)
        epoch = time.perf_counter() - t0
    print("epoch=%.6f " % epoch + " ".join("%s=%.6f" % kv for kv in sorted(times.items())), flush=True)


def main():
    args = parse()
    set_threads(args.threads)
    for _ in range(args.rounds):
        one_round(args)


if __name__ == "__main__":
    main()

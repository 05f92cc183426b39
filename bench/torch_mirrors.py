"""PyTorch mirrors of perceptcl's EL-VAE and Yale B autoencoder, for bench/compare_infer.py.

../shared/bench/torch_ref/models.py (shared, read-only) has the conv AE and the FC AE; these
two follow perceptcl's layer tables (src/experiments/architectures.c) one module per table
entry, so module i is perceptcl's layer i and the state_dict names are perceptcl's tensor
names ("0.weight", "1.running_mean", ...). Inference only: the sampler gives the posterior
mode, and the batch normalisations are meant to run in eval mode (running statistics).

  ELVAE    pcl_arch_elvae_96 (app. B): 5x5 stride-2 convs 1-128-256-512 (zero padding 2,
           ReLU), one dense layer 512*12*12 -> 2*128 (mu, log-variance), the sampler
           (z = mu), dense 128 -> 512*12*12 (ReLU), three nearest 2x upsamplings each with a
           5x5 conv (zero padding 2; ReLU, ReLU, tanh).
  YaleBAE  pcl_arch_yaleb_ae_48 (app. C), 48x48: the same encoder and decoder shape with a
           32-unit bottleneck (dense 512*6*6 -> 32 -> 512*6*6) and batch normalisation
           (epsilon 1e-5, perceptcl's default) after every conv / dense layer but the last,
           before its ReLU; tanh output.
"""
from torch import nn

BN_EPSILON = 1e-5  # src/nn/model_build.c DEFAULT_EPSILON


class Dense(nn.Linear):
    """perceptcl's dense layer: reads any n x c x h x w input as n x (c*h*w), as nn.Flatten + nn.Linear."""

    def forward(self, x):
        return super().forward(x.flatten(1))


class PosteriorMode(nn.Module):
    """perceptcl's VAE sampler in inference mode: of the n x 2L input (mu, then the
    log-variance), z = mu; no noise."""

    def __init__(self, latent):
        super().__init__()
        self.latent = latent

    def forward(self, x):
        x = x.flatten(1)
        if x.shape[1] != 2 * self.latent:
            raise ValueError(f"sampler input has {x.shape[1]} values per image, expected 2 x {self.latent}")
        return x[:, :self.latent]


def conv(c_in, c_out, stride):
    return nn.Conv2d(c_in, c_out, 5, stride=stride, padding=2, padding_mode="zeros")


def up():
    return nn.Upsample(scale_factor=2, mode="nearest")


def bn2(channels):
    return nn.BatchNorm2d(channels, eps=BN_EPSILON)


def bn1(features):
    """After a dense layer: perceptcl's n x f x 1 x 1 batch normalisation, per feature."""
    return nn.BatchNorm1d(features, eps=BN_EPSILON)


class ELVAE(nn.Sequential):
    """pcl_arch_elvae_96 in inference mode (the reconstruction of `perceptcl elvae reconstruct`)."""

    def __init__(self, c1=128, c2=256, c3=512, latent=128):
        super().__init__(
            conv(1, c1, 2), nn.ReLU(),                       # 0, 1
            conv(c1, c2, 2), nn.ReLU(),                      # 2, 3
            conv(c2, c3, 2), nn.ReLU(),                      # 4, 5
            Dense(c3 * 12 * 12, 2 * latent),                 # 6: mu, log-variance
            PosteriorMode(latent),                           # 7
            Dense(latent, c3 * 12 * 12), nn.ReLU(),          # 8, 9
            nn.Unflatten(1, (c3, 12, 12)),                   # 10
            up(), conv(c3, c2, 1), nn.ReLU(),                # 11, 12, 13
            up(), conv(c2, c1, 1), nn.ReLU(),                # 14, 15, 16
            up(), conv(c1, 1, 1), nn.Tanh(),                 # 17, 18, 19
        )


class YaleBAE(nn.Sequential):
    """pcl_arch_yaleb_ae_48; in eval mode the reconstruction of `perceptcl yaleb reconstruct`."""

    def __init__(self):
        super().__init__(
            conv(1, 128, 2), bn2(128), nn.ReLU(),            # 0, 1, 2
            conv(128, 256, 2), bn2(256), nn.ReLU(),          # 3, 4, 5
            conv(256, 512, 2), bn2(512), nn.ReLU(),          # 6, 7, 8
            Dense(512 * 6 * 6, 32), bn1(32), nn.ReLU(),      # 9, 10, 11
            Dense(32, 512 * 6 * 6), bn1(512 * 6 * 6), nn.ReLU(),  # 12, 13, 14
            nn.Unflatten(1, (512, 6, 6)),                    # 15
            up(), conv(512, 256, 1), bn2(256), nn.ReLU(),    # 16, 17, 18, 19
            up(), conv(256, 128, 1), bn2(128), nn.ReLU(),    # 20, 21, 22, 23
            up(), conv(128, 1, 1), nn.Tanh(),                # 24, 25, 26
        )

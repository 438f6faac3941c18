"""zhijian (指尖): a platform to end fingertip formalism (指尖上的形式主义) in local government."""

__version__ = "0.1.0"

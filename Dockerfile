# The sandbox image for machines that can pull from a registry. Build it with
#   python -m nexus_kernel image build --dockerfile
# (that names it with the tag the executor looks for). Offline machines use the default
# `python -m nexus_kernel image build`, which assembles an equivalent image from the local Python.
FROM python:3.11-slim
RUN groupadd --gid 1000 nexus \
 && useradd --uid 1000 --gid 1000 --no-create-home --home-dir /tmp \
      --shell /usr/sbin/nologin nexus \
 && rm -rf /usr/local/lib/python3.11/site-packages/pip* /usr/local/lib/python3.11/ensurepip \
      /usr/local/lib/python3.11/idlelib /usr/local/lib/python3.11/tkinter /usr/local/bin/pip* \
 && find /usr/local/lib/python3.11 -depth -type d -name test -exec rm -rf {} +
COPY nexus_kernel/executors/bootstrap.py /opt/nexus/bootstrap.py
LABEL nexus-kernel.sandbox-image="1"
USER 1000:1000
WORKDIR /tmp
CMD ["/usr/local/bin/python3", "-I", "-S", "/opt/nexus/bootstrap.py"]

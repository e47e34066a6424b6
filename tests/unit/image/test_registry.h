// A real docker-registry (distribution 2.8) on 127.0.0.1 for integration
// tests, optionally behind htpasswd basic auth.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "earth/base/fs.h"
#include "earth/base/subprocess.h"

class TestRegistry {
public:
  // Starts the registry; `error()` says why when it could not.
  TestRegistry(const std::string& dir, const std::string& user = {}, const std::string& pass = {})
      : dir_(dir) {
    (void)earth::fs::make_dirs(dir);
    port_ = free_port();
    std::string config = "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
                         "    rootdirectory: " +
                         dir + "/data\nhttp:\n  addr: 127.0.0.1:" + std::to_string(port_) + "\n";
    if (!user.empty()) {
      auto h = earth::run_process({"htpasswd", "-Bbn", user, pass});
      if (!h || h->exit_status != 0) {
        error_ = "htpasswd -B failed (apt install apache2-utils)";
        return;
      }
      (void)earth::fs::write_file_atomic(dir + "/htpasswd", h->out);
      config += "auth:\n  htpasswd:\n    realm: earth-test\n    path: " + dir + "/htpasswd\n";
    }
    (void)earth::fs::write_file_atomic(dir + "/config.yml", config);
    pid_ = ::fork();
    if (pid_ == 0) {
      int log = ::open((dir + "/registry.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(log, 1);
      ::dup2(log, 2);
      ::execlp("docker-registry", "docker-registry", "serve", (dir + "/config.yml").c_str(),
               nullptr);
      ::_exit(127);
    }
    for (int i = 0; i < 200; ++i) { // up to 10 s
      if (can_connect()) return;
      int status;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        auto log = earth::fs::read_file(dir + "/registry.log");
        error_ = "docker-registry exited: " + (log ? *log : log.error());
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    error_ = "docker-registry did not start listening";
  }
  ~TestRegistry() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  const std::string& error() const { return error_; }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string data_dir() const { return dir_ + "/data"; }

  // skopeo copy of an OCI archive to host()/repo.
  std::string push(const std::string& archive, const std::string& repo,
                   const std::string& creds = {}) {
    std::vector<std::string> argv = {"skopeo", "copy", "--dest-tls-verify=false"};
    if (!creds.empty()) argv.push_back("--dest-creds=" + creds);
    argv.push_back("oci-archive:" + archive);
    argv.push_back("docker://" + host() + "/" + repo);
    auto r = earth::run_process(argv);
    if (!r) return r.error();
    return r->exit_status == 0 ? "" : r->err;
  }

private:
  static int free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
  }
  bool can_connect() const {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port_));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
  }

  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
  std::string error_;
};

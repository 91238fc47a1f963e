;;; jsonrpc-el-tests.el --- the bridge driven by Emacs's own jsonrpc.el  -*- lexical-binding: t; -*-

;; No code of our plugin: only `jsonrpc-process-connection', `jsonrpc-request',
;; `jsonrpc-async-request' and `jsonrpc-notify', as eglot (or a person's own
;; client) uses them.  Run by editors/builtin-clients/run.sh:
;;   emacs --batch -Q -l ert -l jsonrpc-el-tests.el -f ert-run-tests-batch-and-exit
;; AGENT_BRIDGE_BIN names the binary.

;;; Code:

(require 'ert)
(require 'cl-lib)
(require 'jsonrpc)

(defconst jsonrpc-el-test--bin
  (expand-file-name (or (getenv "AGENT_BRIDGE_BIN") (error "AGENT_BRIDGE_BIN is not set"))))

(defun jsonrpc-el-test--temp-dir ()
  (file-truename (make-temp-file "agent-bridge-jsonrpc-" t)))

(defun jsonrpc-el-test--write (file text)
  (make-directory (file-name-directory file) t)
  (let ((coding-system-for-write 'utf-8-unix))
    (with-temp-file file (insert text))))

(defun jsonrpc-el-test--git (dir &rest args)
  (let ((default-directory (file-name-as-directory dir)))
    (unless (eql 0 (apply #'call-process "git" nil nil nil
                          "-c" "user.name=Test" "-c" "user.email=test@example.com" args))
      (error "git %S failed" args))))

(defun jsonrpc-el-test--make-repo ()
  "One commit (a.txt, src/main.el), then a.txt modified and new.txt added."
  (let* ((parent (jsonrpc-el-test--temp-dir))
         (dir (expand-file-name "repo" parent)))
    (make-directory dir)
    (jsonrpc-el-test--git dir "init" "-q")
    (jsonrpc-el-test--write (expand-file-name "a.txt" dir) "one\n")
    (jsonrpc-el-test--write (expand-file-name "src/main.el" dir) "(message \"1\")\n")
    (jsonrpc-el-test--git dir "add" "-A")
    (jsonrpc-el-test--git dir "commit" "-q" "-m" "initial")
    (jsonrpc-el-test--write (expand-file-name "a.txt" dir) "one\ntwo\n")
    (jsonrpc-el-test--write (expand-file-name "new.txt" dir) "fresh\n")
    (jsonrpc-el-test--write (expand-file-name "outside.txt" parent) "not served\n")
    dir))

(defun jsonrpc-el-test--connect (name)
  "A `jsonrpc-process-connection' to the bridge, started in a directory that
is not the workspace: initialize has to name it."
  (make-instance
   'jsonrpc-process-connection
   :name name
   :process (lambda ()
              (let ((default-directory (file-name-as-directory (jsonrpc-el-test--temp-dir))))
                (make-process :name name :command (list jsonrpc-el-test--bin)
                              :connection-type 'pipe :coding 'utf-8-emacs-unix :noquery t
                              ;; jsonrpc.el expects this buffer name for stderr.
                              :stderr (get-buffer-create (format "*%s stderr*" name)))))
   :request-dispatcher #'ignore :notification-dispatcher #'ignore))

(defun jsonrpc-el-test--initialize (conn workspace)
  (prog1 (jsonrpc-request conn :initialize
                          (list :processId (emacs-pid)
                                :clientInfo '(:name "jsonrpc.el")
                                :rootUri (concat "file://" workspace)
                                :capabilities (make-hash-table)))
    (jsonrpc-notify conn :initialized (make-hash-table))))

(defun jsonrpc-el-test--wait-exit (proc seconds)
  (let ((deadline (+ (float-time) seconds)))
    (while (and (process-live-p proc) (< (float-time) deadline))
      (accept-process-output nil 0.05))))

(defmacro jsonrpc-el-test--with-bridge (spec &rest body)
  "Run BODY with (CONN INIT) bound to a connection and the initialize
result, over the repository REPO; always end the bridge."
  (declare (indent 1))
  (let ((conn (nth 0 spec)) (init (nth 1 spec)) (repo (nth 2 spec)))
    `(let* ((,conn (jsonrpc-el-test--connect "agent-bridge-jsonrpc-test"))
            (,init (jsonrpc-el-test--initialize ,conn ,repo)))
       (ignore ,init)
       (unwind-protect (progn ,@body)
         (when (jsonrpc-running-p ,conn)
           (ignore-errors
             (jsonrpc-request ,conn :shutdown nil :timeout 5)
             (jsonrpc-notify ,conn :exit nil)
             (jsonrpc-el-test--wait-exit (jsonrpc--process ,conn) 5)))
         (jsonrpc-shutdown ,conn t)))))

(defun jsonrpc-el-test--error-code (thunk)
  "The JSON-RPC error code THUNK's request fails with, or nil."
  (condition-case err
      (progn (funcall thunk) nil)
    (jsonrpc-error (alist-get 'jsonrpc-error-code (cdr err)))))

(ert-deftest jsonrpc-el-initialize ()
  (let ((repo (jsonrpc-el-test--make-repo)))
    (jsonrpc-el-test--with-bridge (conn init repo)
      (should (equal (plist-get (plist-get init :serverInfo) :name) "agent-bridge"))
      (let ((capabilities (plist-get init :capabilities)))
        (should (eq (plist-get capabilities :cancellation) t))
        (dolist (method '("health" "listFiles" "gitChanges" "selectFile" "zipDirectory"))
          (should (seq-contains-p (plist-get capabilities :methods) method))))
      ;; The workspace is rootUri's, not the directory the bridge runs in.
      (should (equal (jsonrpc-request conn :listFiles (make-hash-table)) ["src/" "a.txt" "new.txt"])))))

(ert-deftest jsonrpc-el-methods-with-every-params-form ()
  (let ((repo (jsonrpc-el-test--make-repo)))
    (jsonrpc-el-test--with-bridge (conn _init repo)
      ;; nil encodes as null, [] as an empty array, a hash table as {}.
      (dolist (params (list nil [] (make-hash-table)))
        (should (equal (jsonrpc-request conn :health params) "OK")))
      (should (equal (jsonrpc-request conn :listFiles '(:path "src")) ["src/main.el"]))
      (should (equal (jsonrpc-request conn :gitChanges nil)
                     [(:status "M" :path "a.txt") (:status "A" :path "new.txt")]))
      (should (equal (jsonrpc-request conn :gitDiff '(:path "a.txt"))
                     '(:modified "one\ntwo" :original "one"))))))

(ert-deftest jsonrpc-el-error-outside-the-workspace ()
  (let ((repo (jsonrpc-el-test--make-repo)))
    (jsonrpc-el-test--with-bridge (conn _init repo)
      (let ((err (should-error (jsonrpc-request conn :selectFile '(:file "../outside.txt"))
                               :type 'jsonrpc-error)))
        (should (eql (alist-get 'jsonrpc-error-code (cdr err)) -32014))
        (should (string-match-p "outside the workspace" (alist-get 'jsonrpc-error-message (cdr err)))))
      (should (eql (jsonrpc-el-test--error-code
                    (lambda () (jsonrpc-request conn :listFiles ["src"])))
                   -32602))
      (should (equal (jsonrpc-request conn :health nil) "OK")))))

(ert-deftest jsonrpc-el-cancel-request ()
  (let* ((repo (jsonrpc-el-test--make-repo))
         (blob (apply #'concat (make-list 80000 "agent bridge ")))
         (out (jsonrpc-el-test--temp-dir)))
    (jsonrpc-el-test--write (expand-file-name "big/f0.txt" repo) blob)
    (dotimes (i 149)
      (copy-file (expand-file-name "big/f0.txt" repo) (expand-file-name (format "big/f%d.txt" (1+ i)) repo)))
    (jsonrpc-el-test--with-bridge (conn _init repo)
      ;; Uncancelled, the zip is written: how long it takes bounds the waits.
      (let* ((started (float-time))
             (whole (jsonrpc-request conn :zipDirectory
                                     (list :destination (expand-file-name "whole.zip" out))
                                     :timeout 120))
             (took (- (float-time) started))
             (target (expand-file-name "cancelled.zip" out))
             outcome id)
        (should (plist-get whole :entries))
        (should (file-exists-p (expand-file-name "whole.zip" out)))
        (jsonrpc-async-request conn :zipDirectory (list :destination target)
                               :success-fn (lambda (result) (setq outcome (list :result result)))
                               :error-fn (lambda (error) (setq outcome (list :error error)))
                               :timeout 120)
        ;; jsonrpc.el 1.0.14 has no cancel call and `jsonrpc-async-request'
        ;; returns nil: the id it just used is the connection's counter, and
        ;; the client sends LSP's $/cancelRequest itself, as eglot does.
        (setq id (jsonrpc--next-request-id conn))
        (jsonrpc-notify conn :$/cancelRequest (list :id id))
        (let ((deadline (+ (float-time) (max 5 (* 2 took)))))
          (while (and (not outcome) (< (float-time) deadline))
            (accept-process-output nil 0.05)))
        (should (eq (car outcome) :error))
        (should (eql (plist-get (cadr outcome) :code) -32800))
        (sleep-for (max 0.5 (* 1.5 took)))
        (should-not (file-exists-p target))
        (should (equal (jsonrpc-request conn :health nil) "OK"))))))

(ert-deftest jsonrpc-el-shutdown-and-exit ()
  (let ((repo (jsonrpc-el-test--make-repo)))
    (jsonrpc-el-test--with-bridge (conn _init repo)
      (let ((proc (jsonrpc--process conn)))
        (should (null (jsonrpc-request conn :shutdown nil)))
        ;; After shutdown, requests are refused.
        (should (eql (jsonrpc-el-test--error-code (lambda () (jsonrpc-request conn :health nil)))
                     -32600))
        (jsonrpc-notify conn :exit nil)
        (jsonrpc-el-test--wait-exit proc 10)
        (should-not (process-live-p proc))
        (should (eql (process-exit-status proc) 0))))))

;;; jsonrpc-el-tests.el ends here

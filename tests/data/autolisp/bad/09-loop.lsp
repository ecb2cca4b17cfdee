;; expect: common-lisp
(defun c:TEN (/ i)
  (setq i 0)
  (loop while (< i 10) do (setq i (1+ i)))
  (princ i)
  (princ)
)
